//! A browser without JavaScript for the web app's tests: a cookie jar and
//! an HTTP client that shows every redirect.

use std::collections::BTreeMap;

use reqwest::{redirect, StatusCode};

use super::test_vcf;

/// A browser: a cookie jar (name → value, any host) and an HTTP client
/// that does not follow redirects, so that each step is seen.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `name="csrf_token" value="..."` in the page.
    pub fn csrf(&self) -> String {
        field_value(&self.body, "csrf_token").expect("the page has a CSRF token")
    }
}

pub fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: BTreeMap::new(),
        }
    }

    /// The same cookies, talking to another web process.
    pub fn at(&self, base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            ..self.clone()
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn take(&mut self, response: reqwest::Response) -> Page {
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            body: response.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let response = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.take(response).await
    }

    /// Posts a form with the token of the page at `form_page`.
    pub async fn submit(&mut self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf();
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    pub async fn upload(&mut self, csrf: Option<&str>, name: &str, bytes: Vec<u8>) -> Page {
        let mut form = reqwest::multipart::Form::new();
        if let Some(token) = csrf {
            form = form.text("csrf_token", token.to_string());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        let response = self
            .http
            .post(format!("{}/annotate", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.take(response).await
    }

    /// Signs up, then in (sign-up itself signs no one in: it answers
    /// alike whether or not the email was taken); returns the sign-in's
    /// answer, a redirect to `/annotate` with the session cookie.
    pub async fn sign_up(&mut self, email: &str) -> Page {
        let password = "correct horse battery";
        let page = self
            .submit(
                "/signup",
                "/signup",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-up: {}", page.body);
        let login = page.location.expect("sign-up sends to sign-in");
        let page = self
            .submit(
                &login,
                "/login",
                &[
                    ("email", email),
                    ("password", password),
                    ("next", "/annotate"),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in after sign-up: {}",
            page.body
        );
        page
    }

    /// Uploads a sample through the page; returns the job id.
    pub async fn submit_job(&mut self) -> String {
        let token = self.get("/annotate").await.csrf();
        let page = self.upload(Some(&token), "test.vcf", test_vcf()).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "upload: {}", page.body);
        let location = page.location.unwrap();
        location.strip_prefix("/annotations/").unwrap().to_string()
    }
}
