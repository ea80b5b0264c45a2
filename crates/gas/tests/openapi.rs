//! The OpenAPI document at /api/v1/openapi.json against the real service:
//! every answer of a walk through the API (jobs pending, running, completed
//! and failed, for a free and a premium user, and the refusals) is one the
//! document describes — its status, content type, required headers, and a
//! body that validates against the documented schema. The routes and the
//! document are compared in `web/src/api/mod.rs`; `scripts/schemathesis.sh`
//! fuzzes the same document.

mod support;

use std::time::{Duration, Instant};

use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use support::{test_vcf, Api};

/// Line 4 has a POS that is not a number: the job FAILS.
const BAD_VCF: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
1\t100\t.\tA\tG\t50\tPASS\t.\n1\tabc\t.\tC\tA\t50\tPASS\t.\n";

// --- a validator for the subset of OpenAPI 3.0 schemas the document uses ---

/// Resolves a local `$ref` (`#/components/...`), repeatedly.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = target.strip_prefix('#').expect("a local $ref");
        schema = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{target} does not resolve"));
    }
    schema
}

/// What is wrong with `value` by `schema`, one line each (empty: valid).
/// Knows `$ref`, `type`, `nullable`, `enum`, `required`, `properties`,
/// `additionalProperties: false`, `items`, `minimum` and `maximum`; any
/// other keyword in the document makes it panic, so that it is never
/// silently ignored.
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    const KNOWN: &[&str] = &[
        "type",
        "nullable",
        "enum",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "minimum",
        "maximum",
        "description",
        "format",
        "default",
    ];
    for key in schema.as_object().unwrap().keys() {
        assert!(
            KNOWN.contains(&key.as_str()),
            "{at}: keyword {key} unknown to the validator"
        );
    }
    if value.is_null() {
        return if schema["nullable"] == true {
            vec![]
        } else {
            vec![format!("{at}: null, not nullable")]
        };
    }
    let mut found = Vec::new();
    let type_ok = match schema["type"].as_str() {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => panic!("{at}: type {other}?"),
    };
    if !type_ok {
        return vec![format!("{at}: {value} is not of type {}", schema["type"])];
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            found.push(format!("{at}: {value} is none of {}", schema["enum"]));
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64()) {
        if n < min {
            found.push(format!("{at}: {n} < minimum {min}"));
        }
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64()) {
        if n > max {
            found.push(format!("{at}: {n} > maximum {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap()) {
                found.push(format!("{at}: required {name} is missing"));
            }
        }
        for (name, item) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => {
                    found.extend(violations(doc, property, item, &format!("{at}.{name}")))
                }
                None if schema["additionalProperties"] == false => {
                    found.push(format!("{at}: {name} is not a documented property"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            found.extend(violations(doc, schema, item, &format!("{at}[{i}]")));
        }
    }
    found
}

/// An answer, read whole.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Panics unless `answer` is one the document describes for `method
/// template` (a path as the document writes it, e.g. `/api/v1/jobs/{id}`).
fn assert_documented(doc: &Value, method: &Method, template: &str, answer: &Answer) {
    let what = format!("{method} {template} → {}", answer.status);
    let operation = &doc["paths"][template][method.as_str().to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{what}: no such operation documented"
    );
    let response = &operation["responses"][answer.status.as_str()];
    assert!(
        response.is_object(),
        "{what}: status not documented; body {}",
        answer.body
    );
    let response = resolve(doc, response);
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let header = resolve(doc, header);
        if header["required"] == true {
            let value = answer
                .headers
                .get(name.as_str())
                .unwrap_or_else(|| panic!("{what}: required header {name} missing"));
            let value = json!(value.to_str().unwrap());
            let problems = violations(doc, &header["schema"], &value, name);
            assert!(problems.is_empty(), "{what}: {problems:?}");
        }
    }
    let Some(content) = response["content"].as_object() else {
        assert!(
            answer.body.is_empty(),
            "{what}: a body where none is documented: {}",
            answer.body
        );
        return;
    };
    let media = answer
        .content_type
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Content-Type"))
        .split(';')
        .next()
        .unwrap()
        .trim();
    let Some(entry) = content.get(media) else {
        panic!(
            "{what}: Content-Type {media} not documented ({:?})",
            content.keys()
        )
    };
    let body = if media == "application/json" {
        answer.json()
    } else {
        json!(answer.body)
    };
    let problems = violations(doc, &entry["schema"], &body, "body");
    assert!(problems.is_empty(), "{what}: {problems:#?}\n{body:#}");
}

// --- the running system -----------------------------------------------------

struct System {
    running: Running,
    api: Api,
    http: Client,
    doc: Value,
    _data: tempfile::TempDir,
}

impl System {
    async fn start(window_secs: u64) -> System {
        let data = tempfile::tempdir().unwrap();
        let config = support::quick_config(data.path(), window_secs);
        let running = dev::start(config, Services::ALL)
            .await
            .expect("system starts");
        let api = Api::new(format!("http://{}", running.web_addr.unwrap()));
        let http = api.http.clone();
        // The document is served to anyone.
        let response = http
            .get(format!("{}/api/v1/openapi.json", api.web))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        System {
            running,
            api,
            http,
            doc,
            _data: data,
        }
    }

    async fn user(&self, email: &str, role: Role) -> String {
        gas::users::add_user(&self.running.ports, email, role, None)
            .await
            .unwrap()
            .1
    }

    async fn read(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status(),
            content_type: response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string()),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    /// Calls `method path` (with `token`, if any), checks the answer
    /// against the document's `template`, and returns it.
    async fn call(
        &self,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.api.web));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = Self::read(request.send().await.unwrap()).await;
        assert_documented(&self.doc, &method, template, &answer);
        answer
    }

    async fn get(&self, template: &str, path: &str, token: &str) -> Answer {
        self.call(Method::GET, template, path, Some(token)).await
    }

    async fn submit(&self, token: &str, name: &str, bytes: Vec<u8>) -> Answer {
        let answer = Self::read(self.api.submit(token, name, bytes).await).await;
        assert_documented(&self.doc, &Method::POST, "/api/v1/jobs", &answer);
        answer
    }

    /// Polls the job (checking every answer) until `done`.
    async fn job_until(&self, token: &str, job_id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let job = self
                .get(
                    "/api/v1/jobs/{id}",
                    &format!("/api/v1/jobs/{job_id}"),
                    token,
                )
                .await
                .json();
            if done(&job) {
                return job;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "waiting: {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_of_the_api_is_one_the_document_describes() {
    let system = System::start(3600).await;
    let free = system.user("free@example.org", Role::Free).await;
    let premium = system.user("premium@example.org", Role::Premium).await;
    let job_ops = [
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/results",
        "/api/v1/jobs/{id}/log",
    ];

    // Without a token, every operation but the document's refuses.
    for (method, path) in [
        (Method::GET, "/api/v1/jobs"),
        (Method::POST, "/api/v1/jobs"),
        (Method::GET, "/api/v1/me"),
        (Method::POST, "/api/v1/me/upgrade"),
    ] {
        let answer = system.call(method, path, path, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    for template in job_ops {
        let path = template.replace("{id}", "some-job");
        let answer = system.call(Method::GET, template, &path, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        let answer = system.get(template, &path, "gas_not-a-token").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }

    // A job, as soon as it is made and while it runs: results and log are
    // not there yet.
    let created = system.submit(&free, "test.vcf", test_vcf()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let job = created.json();
    assert_eq!(job["job_status"], "PENDING");
    assert!(job["results_state"].is_null(), "{job}");
    let job_id = job["job_id"].as_str().unwrap().to_string();
    for template in job_ops {
        system
            .get(template, &template.replace("{id}", &job_id), &free)
            .await;
    }

    // Completed, for a free user: download_until, a redirect, the log.
    let job = system
        .job_until(&free, &job_id, |j| j["job_status"] == "COMPLETED")
        .await;
    assert_eq!(job["results_state"], "available");
    assert!(job["download_until"].is_i64(), "{job}");
    let results = system
        .get(
            "/api/v1/jobs/{id}/results",
            &format!("/api/v1/jobs/{job_id}/results"),
            &free,
        )
        .await;
    assert_eq!(results.status, StatusCode::SEE_OTHER);
    let log = system
        .get(
            "/api/v1/jobs/{id}/log",
            &format!("/api/v1/jobs/{job_id}/log"),
            &free,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(!log.body.is_empty());

    // Listing: the README's `?limit=&cursor=` (empty means none), a page at
    // a time, and what is refused.
    for query in [
        "",
        "?limit=&cursor=",
        "?limit=1",
        "?limit=0",
        "?limit=100000000000000000000000",
    ] {
        let page = system
            .get("/api/v1/jobs", &format!("/api/v1/jobs{query}"), &free)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(page.json()["jobs"][0]["job_id"], job_id.as_str());
    }
    for query in ["?limit=abc", "?limit=-1", "?cursor=not-a-cursor"] {
        let page = system
            .get("/api/v1/jobs", &format!("/api/v1/jobs{query}"), &free)
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
    }

    // Refused uploads, and another user's or a missing job.
    let mut big = test_vcf();
    big.resize(200 * 1024, b'\n'); // over the free plan's 150 KiB
    for (name, bytes, status) in [
        (
            "notes.txt",
            b"##fileformat=VCFv4.2\n".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("empty.vcf", Vec::new(), StatusCode::BAD_REQUEST),
        ("x.vcf", b"%PDF-1.7".to_vec(), StatusCode::BAD_REQUEST),
        ("big.vcf", big, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        assert_eq!(
            system.submit(&free, name, bytes).await.status,
            status,
            "{name}"
        );
    }
    let not_multipart = System::read(
        system
            .http
            .post(format!("{}/api/v1/jobs", system.api.web))
            .bearer_auth(&free)
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_documented(&system.doc, &Method::POST, "/api/v1/jobs", &not_multipart);
    assert_eq!(not_multipart.status, StatusCode::BAD_REQUEST);
    for template in job_ops {
        for (id, token) in [(job_id.as_str(), &premium), ("no-such-job", &free)] {
            let answer = system
                .get(template, &template.replace("{id}", id), token)
                .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{template} {id}");
        }
        // A path that is not UTF-8 once decoded.
        let answer = system
            .get(template, &template.replace("{id}", "%FF"), &free)
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{template}");
    }

    // A job that FAILED: failure_reason; its log, and no results.
    let created = system.submit(&premium, "bad.vcf", BAD_VCF.into()).await;
    let failed_id = created.json()["job_id"].as_str().unwrap().to_string();
    let job = system
        .job_until(&premium, &failed_id, |j| j["job_status"] == "FAILED")
        .await;
    assert!(job["failure_reason"].is_string(), "{job}");
    assert!(job.get("download_until").is_none(), "premium: {job}");
    let results = system
        .get(
            "/api/v1/jobs/{id}/results",
            &format!("/api/v1/jobs/{failed_id}/results"),
            &premium,
        )
        .await;
    assert_eq!(results.status, StatusCode::CONFLICT);
    system
        .get(
            "/api/v1/jobs/{id}/log",
            &format!("/api/v1/jobs/{failed_id}/log"),
            &premium,
        )
        .await;

    // The profile, and the upgrade: the free user's job loses its window.
    let me = system.get("/api/v1/me", "/api/v1/me", &free).await;
    assert_eq!(me.json()["role"], "free");
    let upgraded = system
        .call(
            Method::POST,
            "/api/v1/me/upgrade",
            "/api/v1/me/upgrade",
            Some(&free),
        )
        .await;
    assert_eq!(upgraded.status, StatusCode::OK);
    assert_eq!(upgraded.json()["role"], "premium");
    let job = system
        .job_until(&free, &job_id, |j| j.get("download_until").is_none())
        .await;
    assert_eq!(job["results_state"], "available");
}

/// A free job's results after the window (archived, then restoring and
/// back on upgrade), as the document says too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archived_and_restoring_jobs_are_as_documented() {
    let system = System::start(1).await;
    let free = system.user("late@example.org", Role::Free).await;
    let created = system.submit(&free, "test.vcf", test_vcf()).await;
    let job_id = created.json()["job_id"].as_str().unwrap().to_string();
    let job = system
        .job_until(&free, &job_id, |j| j["results_state"] == "archived")
        .await;
    assert!(job["results_file_archive_id"].is_string(), "{job}");
    let results_path = format!("/api/v1/jobs/{job_id}/results");
    let results = system
        .get("/api/v1/jobs/{id}/results", &results_path, &free)
        .await;
    assert_eq!(results.status, StatusCode::FORBIDDEN);
    assert_eq!(results.json()["reason"], "upgrade");
    system
        .call(
            Method::POST,
            "/api/v1/me/upgrade",
            "/api/v1/me/upgrade",
            Some(&free),
        )
        .await;
    // Every answer on the way back is checked, restoring ones included.
    let job = system
        .job_until(&free, &job_id, |j| j["results_state"] != "archived")
        .await;
    if job["results_state"] == "restoring" {
        let results = system
            .get("/api/v1/jobs/{id}/results", &results_path, &free)
            .await;
        assert!(
            results.status == StatusCode::CONFLICT || results.status == StatusCode::SEE_OTHER,
            "{}",
            results.status
        );
    }
    system
        .job_until(&free, &job_id, |j| j["results_state"] == "available")
        .await;
    let results = system
        .get("/api/v1/jobs/{id}/results", &results_path, &free)
        .await;
    assert_eq!(results.status, StatusCode::SEE_OTHER);
}

/// The validator finds what it should, so that the test above means
/// something.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_refuses_what_the_document_does_not_allow() {
    let system = System::start(3600).await;
    let doc = &system.doc;
    let job_schema = json!({ "$ref": "#/components/schemas/Job" });
    let good = json!({
        "job_id": "j", "user_id": "u", "input_file_name": "a.vcf",
        "s3_inputs_bucket": "b", "s3_key_input_file": "k", "submit_time": 1,
        "job_status": "PENDING", "progress": 0.0, "results_state": null
    });
    assert_eq!(
        violations(doc, &job_schema, &good, "job"),
        Vec::<String>::new()
    );
    let mut bad = good.clone();
    bad["job_status"] = json!("LOST");
    bad["progress"] = json!(2.5);
    bad["submit_time"] = json!("yesterday");
    bad["secret"] = json!(true);
    bad.as_object_mut().unwrap().remove("job_id");
    let found = violations(doc, &job_schema, &bad, "job");
    assert_eq!(found.len(), 5, "{found:#?}");
    let mut bad = good;
    bad["results_state"] = json!("lost");
    bad["download_until"] = json!(null);
    assert_eq!(violations(doc, &job_schema, &bad, "job").len(), 2);
}
