//! Cross-site request forgery protection for the pages' forms: one layer on
//! the page routes.
//!
//! Every browser gets a random `gas_csrf` cookie (HttpOnly, SameSite=Lax);
//! every form carries, in a hidden input named `csrf_token`, the SHA-256 of
//! that cookie's value. Another site can make a browser post a form, but it
//! can read neither the cookie nor our pages, so it cannot know the token.
//! A state-changing request without the right token is refused with 403
//! before any handler runs, whatever its content type. A multipart form (an
//! upload) must carry the token as its first field: the layer reads just
//! that field (a few KiB at most), checks it, and hands the body on with
//! those bytes put back in front, so the file still streams to the handler.

use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::pages::error::error_page;
use crate::primitives::cookie::{cookie, set_cookie};
use crate::primitives::csrf::{CsrfToken, CSRF_COOKIE, CSRF_FIELD};
use crate::primitives::secret::new_secret;
use crate::state::WebState;

/// Forms are small; an upload is multipart and not read here.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How much of a multipart body the layer reads to find its first field
/// (the token): headers of a few hundred bytes and a 64-character value.
/// Past this the form is refused, so a huge first field is never held.
const MAX_TOKEN_PART_BYTES: usize = 8 * 1024;

/// The request's token, as the layer put it there, for templates to put in
/// their forms.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CsrfToken {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        // The layer always puts one there; without it the route is not
        // behind the layer, a programming error.
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The layer: gives every request its token (setting the cookie when the
/// browser has none) and refuses unsafe requests whose token is wrong.
pub async fn layer(
    State(state): State<Arc<WebState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = cookie(request.headers(), CSRF_COOKIE).map(str::to_string);
    let (token, new_cookie) = match &existing {
        Some(secret) => (CsrfToken::for_cookie(secret), None),
        None => {
            let secret = new_secret();
            (CsrfToken::for_cookie(&secret), Some(secret))
        }
    };
    if !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        // The media type compares without case; a multipart boundary is
        // case-sensitive, so it is read from the header as sent.
        let sent_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let content_type = sent_type.to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            if existing.is_none() {
                return forbidden();
            }
            request = match checked_multipart(request, &sent_type, &token).await {
                Ok(request) => request,
                Err(refusal) => return refusal,
            };
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
            };
            let presented = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned());
            if existing.is_none() || !presented.is_some_and(|p| token.matches(&p)) {
                return forbidden();
            }
            request = Request::from_parts(parts, Body::from(bytes));
        } else {
            return forbidden();
        }
    }
    request.extensions_mut().insert(token);
    let mut response = next.run(request).await;
    if let Some(secret) = new_cookie {
        // A year: the token is not a credential, only proof of same origin.
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                state.settings.secure_cookies(),
                CSRF_COOKIE,
                &secret,
                365 * 24 * 3600,
            ),
        );
    }
    response
}

/// Checks that a multipart body's first field is `csrf_token` with
/// `token`'s value, reading at most [`MAX_TOKEN_PART_BYTES`]; on success the
/// request comes back with its body whole (the bytes read put back first).
async fn checked_multipart(
    request: Request,
    content_type: &str,
    token: &CsrfToken,
) -> Result<Request, Response> {
    use futures::StreamExt;

    let Some(boundary) = multipart_boundary(content_type) else {
        return Err(forbidden());
    };
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::new();
    let presented = loop {
        match first_field(&head, &boundary) {
            FirstField::Complete { name, value } => {
                break (name == CSRF_FIELD.as_bytes()).then_some(value);
            }
            FirstField::Malformed => break None,
            FirstField::Incomplete if head.len() >= MAX_TOKEN_PART_BYTES => break None,
            FirstField::Incomplete => match stream.next().await {
                Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                Some(Err(_)) | None => break None,
            },
        }
    };
    let ok = presented
        .and_then(|v| {
            std::str::from_utf8(&v)
                .ok()
                .map(|v| token.matches(v.trim()))
        })
        .unwrap_or(false);
    if !ok {
        return Err(forbidden());
    }
    let rest = futures::stream::once(async move { Ok::<Bytes, axum::Error>(Bytes::from(head)) })
        .chain(stream);
    Ok(Request::from_parts(parts, Body::from_stream(rest)))
}

/// The `boundary` parameter of a multipart content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 70).then(|| value.to_string())
    })
}

/// What the start of a multipart body says of its first field.
#[derive(Debug, PartialEq, Eq)]
enum FirstField {
    /// Its name (from Content-Disposition) and whole value.
    Complete { name: Vec<u8>, value: Vec<u8> },
    /// More bytes are needed.
    Incomplete,
    /// Not a multipart body with this boundary.
    Malformed,
}

/// Parses the first part of a multipart body (RFC 7578) from its first
/// bytes: `--boundary CRLF headers CRLF CRLF value CRLF --boundary`.
fn first_field(head: &[u8], boundary: &str) -> FirstField {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // A preamble before the first delimiter is allowed (and ignored).
    let start = if head.starts_with(delimiter) {
        0
    } else {
        let mut after_crlf = delimiter.to_vec();
        after_crlf.splice(0..0, *b"\r\n");
        match find(head, &after_crlf) {
            Some(at) => at + 2,
            None if head.len() < MAX_TOKEN_PART_BYTES => return FirstField::Incomplete,
            None => return FirstField::Malformed,
        }
    };
    let after = &head[start + delimiter.len()..];
    if after.len() < 2 {
        return FirstField::Incomplete;
    }
    if !after.starts_with(b"\r\n") {
        return FirstField::Malformed;
    }
    let after = &after[2..];
    let Some(headers_end) = find(after, b"\r\n\r\n") else {
        return FirstField::Incomplete;
    };
    let name = after[..headers_end]
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let (key, value) = std::str::from_utf8(line).ok()?.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then(|| disposition_name(value))?
        })
        .next();
    let Some(name) = name else {
        return FirstField::Malformed;
    };
    let body = &after[headers_end + 4..];
    let mut closing = b"\r\n".to_vec();
    closing.extend_from_slice(delimiter);
    match find(body, &closing) {
        Some(end) => FirstField::Complete {
            name: name.into_bytes(),
            value: body[..end].to_vec(),
        },
        None => FirstField::Incomplete,
    }
}

/// The `name` parameter of a `form-data` Content-Disposition value.
fn disposition_name(value: &str) -> Option<String> {
    let mut params = value.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
        return None;
    }
    params.find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("name")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn forbidden() -> Response {
    tracing::debug!("form refused: missing or wrong CSRF token");
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was missing its security token or it did not match. Go back, reload the page and try again.",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use futures::StreamExt;

    use super::*;

    fn form(first_name: &str, first_value: &str, file: &[u8]) -> Vec<u8> {
        let mut body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"{first_name}\"\r\n\r\n{first_value}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.vcf\"\r\n\
             Content-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        body
    }

    /// A request whose body arrives in small chunks, counting what is read.
    fn request(body: Vec<u8>, read: Arc<AtomicUsize>) -> Request {
        let chunks: Vec<Vec<u8>> = body.chunks(1000).map(<[u8]>::to_vec).collect();
        let stream = futures::stream::iter(chunks).map(move |c| {
            read.fetch_add(c.len(), Ordering::SeqCst);
            Ok::<_, std::io::Error>(c)
        });
        Request::builder()
            .method("POST")
            .body(Body::from_stream(stream))
            .unwrap()
    }

    async fn body_of(request: Request) -> Vec<u8> {
        to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn a_multipart_form_passes_whole_with_the_right_first_field() {
        let token = CsrfToken::for_cookie("secret");
        let body = form(CSRF_FIELD, &token.0, &[b'x'; 20_000]);
        let read = Arc::new(AtomicUsize::new(0));
        let checked = checked_multipart(
            request(body.clone(), Arc::clone(&read)),
            "multipart/form-data; boundary=XyZ",
            &token,
        )
        .await
        .expect("accepted");
        assert!(
            read.load(Ordering::SeqCst) < 2000,
            "only the first field was read"
        );
        assert_eq!(body_of(checked).await, body, "the handler gets every byte");
    }

    #[tokio::test]
    async fn a_multipart_form_without_the_token_first_is_refused() {
        let token = CsrfToken::for_cookie("secret");
        let ct = "multipart/form-data; boundary=XyZ";
        for body in [
            form(CSRF_FIELD, "wrong", b"data"),
            form(CSRF_FIELD, "", b"data"),
            form("file", &token.0, b"data"),
            b"no multipart here".to_vec(),
            Vec::new(),
        ] {
            let read = Arc::new(AtomicUsize::new(0));
            let refused = checked_multipart(request(body, read), ct, &token).await;
            assert_eq!(refused.unwrap_err().status(), StatusCode::FORBIDDEN);
        }
        // No boundary at all.
        let refused = checked_multipart(
            request(form(CSRF_FIELD, &token.0, b"d"), Arc::default()),
            "multipart/form-data",
            &token,
        )
        .await;
        assert_eq!(refused.unwrap_err().status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn a_huge_first_field_is_refused_after_a_few_kib() {
        let token = CsrfToken::for_cookie("secret");
        let huge = "a".repeat(5_000_000);
        let read = Arc::new(AtomicUsize::new(0));
        let refused = checked_multipart(
            request(form(CSRF_FIELD, &huge, b"data"), Arc::clone(&read)),
            "multipart/form-data; boundary=XyZ",
            &token,
        )
        .await;
        assert_eq!(refused.unwrap_err().status(), StatusCode::FORBIDDEN);
        let read = read.load(Ordering::SeqCst);
        assert!(read <= MAX_TOKEN_PART_BYTES + 1000, "read {read} bytes");
    }

    #[test]
    fn boundaries_and_first_fields_parse() {
        assert_eq!(
            multipart_boundary("multipart/form-data; Boundary=AbC"),
            Some("AbC".into()),
            "the boundary keeps its case"
        );
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"a b\""),
            Some("a b".into())
        );
        assert_eq!(multipart_boundary("multipart/form-data; charset=x"), None);
        let body = form(CSRF_FIELD, "tok", b"");
        assert_eq!(
            first_field(&body, "XyZ"),
            FirstField::Complete {
                name: CSRF_FIELD.as_bytes().to_vec(),
                value: b"tok".to_vec()
            }
        );
        assert_eq!(first_field(&body[..30], "XyZ"), FirstField::Incomplete);
        let with_preamble = [b"preamble\r\n".as_slice(), &body].concat();
        assert!(matches!(
            first_field(&with_preamble, "XyZ"),
            FirstField::Complete { .. }
        ));
        assert_eq!(first_field(b"--XyZ junk", "XyZ"), FirstField::Malformed);
    }
}
