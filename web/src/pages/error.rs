//! The pages' errors: where a domain refusal becomes a status and words
//! for people, in one match ([`status_and_words`]), drawn as an error page.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::error::{Error, Refusal};
use crate::pages::render::{render, Layout};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

/// A plain error page (no session needed to draw it).
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let mut response = render(
        status,
        &ErrorPage {
            layout: Layout::bare(heading),
            status: status.as_u16(),
            heading,
            message,
        },
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The status of a domain error on a page, and what the page says of it.
pub fn status_and_words(e: &Error) -> (StatusCode, String) {
    use StatusCode as S;
    match e {
        Error::NotFound => (
            S::NOT_FOUND,
            "There is nothing here, or it is not yours to see.".into(),
        ),
        Error::Invalid(message) => (S::BAD_REQUEST, message.clone()),
        Error::TooLarge(message) => (S::PAYLOAD_TOO_LARGE, message.clone()),
        Error::BadCursor => (
            S::BAD_REQUEST,
            "that page of the list does not exist".into(),
        ),
        Error::Refused(refusal) => match refusal {
            Refusal::ResultsNotReady(status) => (
                S::CONFLICT,
                format!(
                    "the job is {}; results exist only once it completes",
                    status.as_str()
                ),
            ),
            Refusal::LogNotReady(_) => (
                S::CONFLICT,
                "the log is written when the job ends; come back then".into(),
            ),
            Refusal::WindowOver => (
                S::FORBIDDEN,
                "the free download window for these results is over; upgrade to premium to get them back".into(),
            ),
            Refusal::Restoring => (
                S::CONFLICT,
                "the results are being restored from cold storage; try again later".into(),
            ),
            Refusal::Archived => (
                S::CONFLICT,
                "the results are in cold storage; a restore will start shortly".into(),
            ),
            Refusal::Duplicate => (S::CONFLICT, "this upload was already submitted".into()),
            Refusal::NoVariantIndex => (
                S::CONFLICT,
                "this job has no variant table; its results can still be downloaded".into(),
            ),
        },
        Error::Unavailable(_) | Error::Internal(_) => (
            S::INTERNAL_SERVER_ERROR,
            "GAS could not finish this request. Please try again in a moment.".into(),
        ),
    }
}

/// An error as a page. Internal failures are logged once, here, and shown
/// only as "something went wrong".
#[derive(Debug)]
pub struct PageError(pub Error);

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, words) = status_and_words(&self.0);
        let heading = match &self.0 {
            Error::NotFound => "Not found",
            Error::Internal(e) | Error::Unavailable(e) => {
                tracing::error!(error = format!("{e:#}"), "page failed");
                "Something went wrong"
            }
            _ => "That did not work",
        };
        error_page(status, heading, &words)
    }
}
