//! The OpenAPI 3.0 document of the JSON API, served at
//! `GET /api/v1/openapi.json` (no sign-in needed).
//!
//! It describes every route of the API's table and nothing else (the
//! API module's tests compare the two), every status each handler answers with,
//! and the bodies exactly as they are emitted: the job of
//! [`crate::api::jobs::job_json`], the error body of
//! [`crate::api::error::ApiError`].
//! `crates/gas/tests/openapi.rs` checks real answers against it, and
//! `scripts/schemathesis.sh` fuzzes a running service with it.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{json, Value};

/// Where the document is served.
pub const PATH: &str = "/api/v1/openapi.json";

/// Serves the document.
pub async fn serve() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document).clone())
}

/// A reference to a schema of `components.schemas`.
fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A reference to a response of `components.responses`.
fn response(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// An error answer (`{"error", "reason"}`) with what it means here.
fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema("Error") } }
    })
}

/// A JSON answer.
fn ok(description: &str, body: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": body } }
    })
}

/// The `{id}` path parameter of the job routes.
fn job_id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The job's id (`job_id`). Another user's job answers 404, as a missing one does.",
        "schema": { "type": "string" }
    })
}

/// Links from an answer that carries job ids to the operations on a job,
/// for clients and for stateful testing (`pointer` is where the id is).
fn job_links(pointer: &str) -> Value {
    let id = format!("$response.body#{pointer}");
    json!({
        "GetJob": { "operationId": "getJob", "parameters": { "id": id } },
        "GetJobResults": { "operationId": "getJobResults", "parameters": { "id": id } },
        "GetJobLog": { "operationId": "getJobLog", "parameters": { "id": id } },
        "GetJobVariants": { "operationId": "getJobVariants", "parameters": { "id": id } }
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "GAS — the Genomics Annotation Service",
            "version": "1",
            "description": "Submit VCF files for annotation, follow the jobs, download results and logs. \
                Every call but this document's takes `Authorization: Bearer <token>` (`gas user add` \
                prints one, the profile page makes more) or the web app's session cookie; a call made \
                with the cookie that changes something must also send the page's CSRF token in \
                `X-CSRF-Token`. Errors are `{\"error\": message, \"reason\": code}`."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "session": [] }],
        "paths": paths(),
        "components": components()
    });
    with_security_headers(&mut doc);
    doc
}

/// The headers every answer carries (`crate::transport_headers`), added to
/// each response the document defines in place (a `$ref` response gets them
/// where it is defined).
fn with_security_headers(doc: &mut Value) {
    fn add(response: &mut Value) {
        if response.get("$ref").is_some() {
            return;
        }
        let headers = response
            .as_object_mut()
            .expect("a response is an object")
            .entry("headers")
            .or_insert_with(|| json!({}));
        let headers = headers.as_object_mut().expect("headers are an object");
        headers.insert(
            "X-Content-Type-Options".into(),
            json!({ "$ref": "#/components/headers/NoSniff" }),
        );
        headers.insert(
            "Strict-Transport-Security".into(),
            json!({ "$ref": "#/components/headers/Hsts" }),
        );
    }
    for item in doc["paths"].as_object_mut().expect("paths").values_mut() {
        for op in item.as_object_mut().expect("a path item").values_mut() {
            for response in op["responses"]
                .as_object_mut()
                .expect("responses")
                .values_mut()
            {
                add(response);
            }
        }
    }
    for response in doc["components"]["responses"]
        .as_object_mut()
        .expect("shared responses")
        .values_mut()
    {
        add(response);
    }
}

/// The operations on jobs.
fn job_paths() -> Value {
    json!({
        "/api/v1/jobs": {
            "post": {
                "operationId": "createJob",
                "summary": "Submit a VCF for annotation",
                "requestBody": {
                    "required": true,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": "The VCF: a file name ending in `.vcf`, content starting with `##fileformat=VCF`; other fields are ignored."
                                    }
                                }
                            }
                        }
                    }
                },
                "responses": {
                    "201": {
                        "description": "The job, PENDING.",
                        "content": { "application/json": { "schema": schema("Job") } },
                        "links": job_links("/job_id")
                    },
                    "400": error("Not a multipart body, no `file` field, no `.vcf` file name, an empty file, or a file that is not a VCF (`bad_request`)."),
                    "401": response("Unauthorized"),
                    "403": error("Signed in with the session cookie without the page's `X-CSRF-Token` (`csrf`)."),
                    "409": error("The upload was already submitted (`duplicate`)."),
                    "413": error("The file is over the plan's limit (free: 150 KiB by default) (`too_large`)."),
                    "500": response("Internal"),
                    "503": error("The job could not be queued; it is recorded as FAILED (`unavailable`).")
                }
            },
            "get": {
                "operationId": "listJobs",
                "summary": "The caller's jobs, newest first",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "Jobs a page; values outside 1..100 are taken as the nearer of the two; empty or absent: 20.",
                        "allowEmptyValue": true,
                        "schema": { "type": "integer", "minimum": 0, "default": 20 }
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "The previous page's `next`; empty or absent: the first page.",
                        "allowEmptyValue": true,
                        "schema": { "type": "string" }
                    }
                ],
                "responses": {
                    "200": {
                        "description": "A page of jobs.",
                        "content": { "application/json": { "schema": schema("JobList") } },
                        "links": job_links("/jobs/0/job_id")
                    },
                    "400": error("A `limit` that is not a number, or a `cursor` that is not one of this user's pages (`bad_request`)."),
                    "401": response("Unauthorized"),
                    "500": response("Internal")
                }
            }
        },
        "/api/v1/jobs/{id}": {
            "get": {
                "operationId": "getJob",
                "summary": "One job",
                "parameters": [job_id_parameter()],
                "responses": {
                    "200": ok("The job.", schema("Job")),
                    "400": response("BadPath"),
                    "401": response("Unauthorized"),
                    "404": response("NotFound"),
                    "500": response("Internal")
                }
            }
        },
        "/api/v1/jobs/{id}/results": {
            "get": {
                "operationId": "getJobResults",
                "summary": "Download the annotated VCF",
                "parameters": [job_id_parameter()],
                "responses": {
                    "303": {
                        "description": "A redirect to a short-lived URL of the results.",
                        "headers": {
                            "Location": {
                                "required": true,
                                "description": "The short-lived download URL.",
                                "schema": { "type": "string" }
                            }
                        }
                    },
                    "400": response("BadPath"),
                    "401": response("Unauthorized"),
                    "403": error("A free user's download window is over (`upgrade`)."),
                    "404": response("NotFound"),
                    "409": error("The job has not completed (`not_ready`), or its results are in cold storage or being restored (`restoring`)."),
                    "500": response("Internal")
                }
            }
        },
        "/api/v1/jobs/{id}/log": {
            "get": {
                "operationId": "getJobLog",
                "summary": "The annotation log",
                "parameters": [job_id_parameter()],
                "responses": {
                    "200": {
                        "description": "The log: counts by variant class, Ts/Tv, per contig.",
                        "content": { "text/plain": { "schema": { "type": "string" } } }
                    },
                    "400": response("BadPath"),
                    "401": response("Unauthorized"),
                    "404": response("NotFound"),
                    "409": error("The job has not ended yet; its log is written when it does (`not_ready`)."),
                    "500": response("Internal")
                }
            }
        }
    })
}

/// A text query parameter of the variant table.
fn variant_parameter(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "allowEmptyValue": true,
        "schema": { "type": "string" }
    })
}

/// The variant table of a job (`crate::api::variants`).
fn variant_paths() -> Value {
    json!({
        "/api/v1/jobs/{id}/variants": {
            "get": {
                "operationId": "getJobVariants",
                "summary": "A page of the job's annotated variants, filtered and sorted",
                "description": "One object per variant allele with the picked CSQ entry's fields (`PICK=1`, else the first) and the allele's other entries in `transcripts`. An allele matches when one of its entries meets every entry condition (`gene`, `consequence`, `impact`) and the allele meets the others. Empty parameters are absent. The same rules as the results download.",
                "parameters": [
                    job_id_parameter(),
                    variant_parameter("gene", "A prefix of the gene symbol (case-insensitive)."),
                    variant_parameter("consequence", "Sequence Ontology terms, comma-separated: any of them."),
                    variant_parameter("impact", "The lowest impact to include: HIGH, MODERATE, LOW or MODIFIER."),
                    variant_parameter("region", "`chr:start-end` (1-based, inclusive), `chr:pos` or `chr`; `1`/`chr1` and `MT`/`chrM` alike."),
                    variant_parameter("id", "One id of the ID column, exactly (e.g. an rs id)."),
                    variant_parameter("clinvar", "A ClinVar significance term (`pathogenic`, `likely_pathogenic`, ...); case, `_` and spaces alike."),
                    variant_parameter("max_af", "The highest allele frequency to include, 0 to 1; alleles without a frequency are left out."),
                    {
                        "name": "sort",
                        "in": "query",
                        "description": "position (default), gene, impact (highest first) or frequency (rarest first).",
                        "allowEmptyValue": true,
                        "schema": { "type": "string" }
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "Variants a page, 1 to 500; empty or absent: 50.",
                        "allowEmptyValue": true,
                        "schema": { "type": "string" }
                    },
                    variant_parameter("cursor", "The previous page's `next`, with the same filter and sort."),
                    {
                        "name": "format",
                        "in": "query",
                        "description": "`tsv` or `json`: instead of a page, the whole filtered set from the cursor on, streamed as a download (TSV: a header line, one allele a line with its picked entry; JSON: an array of the page's variant objects). Empty or absent: a page.",
                        "allowEmptyValue": true,
                        "schema": { "type": "string" }
                    }
                ],
                "responses": {
                    "200": {
                        "description": "A page of the filtered set; with `format`, the whole set as a download.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        schema("VariantPage"),
                                        { "type": "array", "items": schema("Variant") }
                                    ]
                                }
                            },
                            "text/tab-separated-values": { "schema": { "type": "string" } }
                        }
                    },
                    "400": error("A parameter's value is wrong; the message names it and says why (`bad_request`)."),
                    "401": response("Unauthorized"),
                    "403": error("A free user's download window is over (`upgrade`)."),
                    "404": response("NotFound"),
                    "409": error("The job has not completed (`not_ready`), its results are in cold storage or being restored (`restoring`), or it has no variant table (`no_index`)."),
                    "500": response("Internal")
                }
            }
        }
    })
}

/// Every operation, by path.
fn paths() -> Value {
    let mut paths = job_paths();
    paths
        .as_object_mut()
        .expect("an object")
        .extend(variant_paths().as_object().expect("an object").clone());
    let more = json!({
        "/api/v1/me": {
            "get": {
                "operationId": "getMe",
                "summary": "The caller's profile",
                "responses": {
                    "200": ok("The profile.", schema("Profile")),
                    "401": response("Unauthorized"),
                    "500": response("Internal")
                }
            }
        },
        "/api/v1/me/upgrade": {
            "post": {
                "operationId": "upgradeMe",
                "summary": "Become premium (paid)",
                "description": "Premium is paid for: the configured payment provider is asked first, and \
                    only its answer that the subscription is paid makes the caller premium (as the web \
                    app's subscribe page does; a role otherwise changes only by the provider's signed \
                    notification or an operator's `gas user set-role`). With Stripe, send the \
                    `payment_method` that Stripe.js made; without it the answer is 402. The embedded \
                    default provider (no payment configured) upgrades at once. Then the archive timers \
                    of the caller's results stop and archived results are restored. Idempotent: a \
                    premium caller gets the profile back and nothing is charged.",
                "requestBody": {
                    "required": false,
                    "content": {
                        "application/json": { "schema": schema("UpgradeRequest") }
                    }
                },
                "responses": {
                    "200": ok("The profile, premium.", schema("Profile")),
                    "400": error("The body is neither empty nor the documented object (`bad_request`)."),
                    "401": response("Unauthorized"),
                    "402": error("The payment provider did not take a payment: none was given, the card was declined, or the payment must be finished elsewhere (`payment_required`). Nothing changed."),
                    "403": error("Signed in with the session cookie without the page's `X-CSRF-Token` (`csrf`)."),
                    "500": response("Internal"),
                    "502": error("The payment provider could not be reached (`payment_unavailable`). Nothing changed.")
                }
            }
        },
        PATH: {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": ok("The OpenAPI document of the JSON API.", json!({ "type": "object" }))
                }
            }
        }
    });
    let map = paths.as_object_mut().expect("an object");
    map.extend(more.as_object().expect("an object").clone());
    paths
}

/// Security schemes, shared answers and the bodies.
fn components() -> Value {
    json!({
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token."
            },
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": crate::primitives::session::SESSION_COOKIE,
                "description": "The web app's session; calls that change something also need `X-CSRF-Token`."
            }
        },
        "headers": {
            "NoSniff": {
                "description": "Every answer: never sniff the content type (a JSON error is never taken for a page).",
                "required": true,
                "schema": { "type": "string", "enum": ["nosniff"] }
            },
            "Hsts": {
                "description": "Every answer when the service's public URL is https: browsers use https only, for a year.",
                "required": false,
                "schema": { "type": "string", "enum": ["max-age=31536000"] }
            }
        },
        "responses": {
            "Unauthorized": {
                "description": "No valid token or session (`unauthorized`).",
                "headers": {
                    "WWW-Authenticate": {
                        "required": true,
                        "schema": { "type": "string", "enum": ["Bearer"] }
                    }
                },
                "content": { "application/json": { "schema": schema("Error") } }
            },
            "NotFound": error("No such job, or another user's (`not_found`)."),
            "BadPath": error("The job id in the path is not valid UTF-8 once decoded (`bad_request`)."),
            "Internal": error("A store or queue failed (`internal`); the details are logged, not sent.")
        },
        "schemas": schemas()
    })
}

/// The bodies: a job, a page of jobs, a profile, an error.
fn schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "required": ["error", "reason"],
            "additionalProperties": false,
            "properties": {
                "error": { "type": "string", "description": "What went wrong, for people." },
                "reason": {
                    "type": "string",
                    "description": "A stable code to act on: `unauthorized`, `not_found`, `bad_request`, `too_large`, `csrf`, `duplicate`, `upgrade`, `restoring`, `not_ready`, `no_index`, `payment_required`, `payment_unavailable`, `unavailable`, `internal`."
                }
            }
        },
        "VariantPage": {
            "type": "object",
            "required": ["variants", "total", "next"],
            "additionalProperties": false,
            "properties": {
                "variants": { "type": "array", "items": schema("Variant") },
                "total": { "type": "integer", "minimum": 0, "description": "Variant alleles in the whole filtered set." },
                "next": {
                    "type": "string",
                    "nullable": true,
                    "description": "The `cursor` of the next page; null on the last page."
                }
            }
        },
        "Variant": {
            "type": "object",
            "description": "A variant allele: its record's fields, the picked CSQ entry's, the copied track fields (ClinVar significance `CLNSIG`, allele frequency `AF`) and the allele's other entries.",
            "required": [
                "chrom", "pos", "ref", "alt", "id", "gene", "gene_id", "feature", "biotype",
                "consequence", "impact", "hgvsc", "hgvsp", "clinvar", "af", "transcripts"
            ],
            "additionalProperties": false,
            "properties": {
                "chrom": { "type": "string" },
                "pos": { "type": "integer", "minimum": 0 },
                "ref": { "type": "string" },
                "alt": { "type": "string" },
                "id": { "type": "string", "nullable": true, "description": "The ID column; null for `.`." },
                "gene": { "type": "string", "nullable": true },
                "gene_id": { "type": "string", "nullable": true },
                "feature": { "type": "string", "nullable": true },
                "biotype": { "type": "string", "nullable": true },
                "consequence": { "type": "string", "nullable": true, "description": "`&`-joined Sequence Ontology terms." },
                "impact": { "type": "string", "nullable": true, "enum": ["HIGH", "MODERATE", "LOW", "MODIFIER", null] },
                "hgvsc": { "type": "string", "nullable": true },
                "hgvsp": { "type": "string", "nullable": true },
                "clinvar": { "type": "string", "nullable": true },
                "af": { "type": "number", "nullable": true },
                "transcripts": { "type": "array", "items": schema("Transcript") }
            }
        },
        "Transcript": {
            "type": "object",
            "description": "One CSQ entry of the allele.",
            "required": ["gene", "gene_id", "feature", "biotype", "consequence", "impact", "hgvsc", "hgvsp"],
            "additionalProperties": false,
            "properties": {
                "gene": { "type": "string", "nullable": true },
                "gene_id": { "type": "string", "nullable": true },
                "feature": { "type": "string", "nullable": true },
                "biotype": { "type": "string", "nullable": true },
                "consequence": { "type": "string", "nullable": true },
                "impact": { "type": "string", "nullable": true, "enum": ["HIGH", "MODERATE", "LOW", "MODIFIER", null] },
                "hgvsc": { "type": "string", "nullable": true },
                "hgvsp": { "type": "string", "nullable": true }
            }
        },
        "UpgradeRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "payment_method": {
                    "type": "string",
                    "description": "The payment method the provider's script made in the browser (Stripe: `pm_...`); the card never reaches GAS."
                }
            }
        },
        "Profile": {
            "type": "object",
            "required": ["user_id", "email", "role"],
            "additionalProperties": false,
            "properties": {
                "user_id": { "type": "string" },
                "email": { "type": "string" },
                "role": { "type": "string", "enum": ["free", "premium"] }
            }
        },
        "JobList": {
            "type": "object",
            "required": ["jobs", "next"],
            "additionalProperties": false,
            "properties": {
                "jobs": { "type": "array", "items": schema("Job") },
                "next": {
                    "type": "string",
                    "nullable": true,
                    "description": "The `cursor` of the next page; null on the last page."
                }
            }
        },
        "Job": {
            "type": "object",
            "description": "A job: the record's attribute names (those of the original GAS) plus `results_state` and, for free users, `download_until`. Times are epoch seconds.",
            "required": [
                "job_id", "user_id", "input_file_name", "s3_inputs_bucket",
                "s3_key_input_file", "submit_time", "job_status", "progress",
                "results_state"
            ],
            "additionalProperties": false,
            "properties": {
                "job_id": { "type": "string" },
                "user_id": { "type": "string" },
                "input_file_name": { "type": "string" },
                "s3_inputs_bucket": { "type": "string" },
                "s3_key_input_file": { "type": "string" },
                "submit_time": { "type": "integer", "format": "int64" },
                "job_status": {
                    "type": "string",
                    "enum": ["PENDING", "RUNNING", "COMPLETED", "FAILED"]
                },
                "progress": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "description": "Fraction of the input read."
                },
                "results_state": {
                    "type": "string",
                    "enum": ["available", "archived", "restoring"],
                    "nullable": true,
                    "description": "Where a COMPLETED job's results are; null for other jobs."
                },
                "download_until": {
                    "type": "integer",
                    "format": "int64",
                    "description": "Free users, once the job has ended: until when the results may be downloaded."
                },
                "s3_results_bucket": { "type": "string" },
                "s3_key_result_file": { "type": "string" },
                "s3_key_log_file": { "type": "string" },
                "complete_time": { "type": "integer", "format": "int64" },
                "results_file_archive_id": {
                    "type": "string",
                    "description": "Set while the results are in cold storage."
                },
                "archive_execution_id": {
                    "type": "string",
                    "description": "The pending archive timer, if any."
                },
                "retrieval_job_id": {
                    "type": "string",
                    "description": "The cold-storage retrieval of a restore under way."
                },
                "failure_reason": {
                    "type": "string",
                    "description": "Why a FAILED job failed."
                },
                "annotation_warnings": {
                    "type": "string",
                    "description": "What the annotator warned about, one warning a line."
                },
                "window_started": {
                    "type": "integer",
                    "format": "int64",
                    "description": "When the free download window started again after a move back from premium."
                }
            }
        }
    })
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// Every (path, method) the document describes.
    pub(in crate::api) fn documented() -> BTreeSet<(String, String)> {
        let doc = document();
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(METHODS.contains(&method.as_str()), "{path}: {method}?");
                operations.insert((path.clone(), method.clone()));
            }
        }
        operations
    }

    #[test]
    fn every_operation_is_complete() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (path, method) in documented() {
            let op = &doc["paths"][&path][&method];
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
                "{method} {path}: no success answer"
            );
            let public = op["security"].as_array().is_some_and(|s| s.is_empty());
            assert_eq!(
                responses.contains_key("401"),
                !public,
                "{method} {path}: 401 exactly when the call needs a sign-in"
            );
            // Path parameters are declared, and only those.
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(in_path, declared, "{method} {path}: path parameters");
        }
        // Links name operations that exist.
        let text = doc.to_string();
        for link in text.split("\"operationId\":\"").skip(1) {
            let id = &link[..link.find('"').unwrap()];
            assert!(ids.contains(id), "a link to {id}, which is no operation");
        }
    }

    /// Every `$ref` points at something in the document.
    #[test]
    fn references_resolve() {
        fn walk(doc: &Value, value: &Value) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').expect("a local $ref");
                        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
                    }
                    map.values().for_each(|v| walk(doc, v));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(doc, v)),
                _ => {}
            }
        }
        let doc = document();
        walk(&doc, &doc);
    }

    /// The Job schema names every field a job record serialises to, so a
    /// field added to `gas_jobs::Job` must be described here too.
    #[test]
    fn the_job_schema_covers_every_record_field() {
        let mut job = gas_jobs::Job::new_pending("j", "u", "in.vcf", "b", "k", 1);
        job.s3_results_bucket = Some("r".into());
        job.s3_key_result_file = Some("r".into());
        job.s3_key_log_file = Some("l".into());
        job.complete_time = Some(2);
        job.results_file_archive_id = Some("a".into());
        job.archive_execution_id = Some("e".into());
        job.retrieval_job_id = Some("t".into());
        job.failure_reason = Some("f".into());
        job.annotation_warnings = Some("w".into());
        job.window_started = Some(3);
        job.lease_expires = Some(4);
        job.requeued_at = Some(5);
        job.job_status = gas_jobs::JobStatus::Completed;
        let shown = crate::api::jobs::job_json(&job, gas_jobs::Role::Free, 300);
        let doc = document();
        let properties = doc["components"]["schemas"]["Job"]["properties"]
            .as_object()
            .unwrap();
        let shown: BTreeSet<&String> = shown.as_object().unwrap().keys().collect();
        let described: BTreeSet<&String> = properties.keys().collect();
        assert_eq!(shown, described);
    }
}
