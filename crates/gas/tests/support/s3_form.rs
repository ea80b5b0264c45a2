//! The upload page's presigned POST on the AWS backend, as a browser uses
//! it: the form's fields from the page, and the POST of a file to S3.

use reqwest::StatusCode;

/// What the upload page's form says: where to post, and its fields.
pub struct UploadForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl UploadForm {
    /// The form `<form id="upload-form">` of the page `html`.
    pub fn parse(html: &str) -> UploadForm {
        let form = html
            .split("<form id=\"upload-form\"")
            .nth(1)
            .and_then(|rest| rest.split("</form>").next())
            .expect("an upload form");
        let action = value_after(form, "action=\"").expect("an action");
        let mut fields = Vec::new();
        for input in form.split("<input type=\"hidden\" ").skip(1) {
            let name = value_after(input, "name=\"").unwrap();
            let value = value_after(input, "value=\"").unwrap();
            fields.push((name, value.replace("&#36;", "$").replace("&amp;", "&")));
        }
        UploadForm {
            action: action.replace("&amp;", "&"),
            fields,
        }
    }

    /// The value of the field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// POSTs `bytes` to S3 as `file_name`, under `key` when given (else the
    /// form's key with `${filename}` filled in: real S3 fills it, moto does
    /// not, the page's script does); returns where S3 sends the browser.
    pub async fn post(&self, key: Option<&str>, file_name: &str, bytes: Vec<u8>) -> String {
        let mut multipart = reqwest::multipart::Form::new();
        for (name, value) in &self.fields {
            let value = match key {
                Some(key) if name == "key" => key.to_string(),
                _ => value.replace("${filename}", file_name),
            };
            multipart = multipart.text(name.clone(), value);
        }
        multipart = multipart.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(&self.action)
            .multipart(multipart)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "S3 POST to {}",
            self.action
        );
        response.headers()["location"].to_str().unwrap().to_string()
    }
}

fn value_after(text: &str, marker: &str) -> Option<String> {
    let rest = &text[text.find(marker)? + marker.len()..];
    Some(rest[..rest.find('"')?].to_string())
}
