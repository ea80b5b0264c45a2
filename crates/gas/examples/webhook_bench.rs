//! Webhook throughput and latency under `wrk` (DESIGN section 8).
//!
//! Starts the util service on the embedded backend, signs one archive
//! Notification with the installation's own SNS key, and has `wrk` POST it
//! to `/archive` over and over: every request is parsed, checked against
//! the topic allow-list, signature-verified (RSA-SHA256, certificate cached)
//! and triggers a drain of the (empty) archive queue. The anchor, measured
//! in the same run, is `GET /healthz` on the same server: the HTTP stack
//! alone.
//!
//!     cargo run --release -p gas --example webhook_bench -- [SECONDS] [CONNECTIONS]
//!
//! Needs `wrk` (Debian package `wrk`).

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gas::config::Config;
use gas::dev::{self, Services};
use gas_messaging::local::sns_cert_url;
use gas_messaging::sns::{MessageType, SnsMessage, SnsSigner};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let connections: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(16);
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is not installed (Debian: apt-get install wrk)");
    }

    let data = tempfile::tempdir()?;
    let config = Config {
        data_dir: data.path().to_path_buf(),
        util_addr: "127.0.0.1:0".parse()?,
        ..Config::default()
    };
    let services = Services {
        web: false,
        ann: false,
        util: true,
    };
    let running = dev::start(config, services).await?;
    let util = format!("http://{}", running.util_addr.context("util address")?);

    // The same key and certificate URL the embedded topic signs with.
    let signer = SnsSigner::load_or_create(
        &data.path().join("keys"),
        sns_cert_url(&format!("{util}/_sns")),
    )?;
    let mut message = SnsMessage {
        message_type: MessageType::Notification,
        message_id: "00000000-0000-0000-0000-000000000001".into(),
        token: None,
        topic_arn: running.ports.archive_topic.arn().to_string(),
        subject: None,
        message: r#"{"job_id":"bench"}"#.into(),
        subscribe_url: None,
        unsubscribe_url: Some(format!("{util}/_sns/unsubscribe")),
        timestamp: "2026-11-28T12:00:00.000Z".into(),
        signature_version: None,
        signature: None,
        signing_cert_url: None,
    };
    signer.sign(&mut message)?;
    let body = serde_json::to_string(&message)?;

    // One request first: it must be accepted, or the figures mean nothing.
    let check = reqwest::Client::new()
        .post(format!("{util}/archive"))
        .header("x-amz-sns-message-type", "Notification")
        .body(body.clone())
        .send()
        .await?;
    if !check.status().is_success() {
        bail!("the signed notification was refused: {}", check.status());
    }

    let script = data.path().join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"text/plain; charset=UTF-8\"\nwrk.headers[\"x-amz-sns-message-type\"] = \"Notification\"\n",
            lua_string(&body)
        ),
    )?;
    println!(
        "wrk, 2 threads, {connections} connections, {seconds} s each, against util on the embedded backend\n"
    );
    for (what, url, script) in [
        ("anchor: GET /healthz", format!("{util}/healthz"), None),
        (
            "POST /archive (signed Notification)",
            format!("{util}/archive"),
            Some(&script),
        ),
    ] {
        let mut wrk = Command::new("wrk");
        wrk.args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
        ]);
        if let Some(script) = script {
            wrk.arg("-s").arg(script);
        }
        let out = wrk.arg(&url).output().context("running wrk")?;
        let text = String::from_utf8_lossy(&out.stdout);
        println!("== {what}");
        for line in text.lines().filter(|l| {
            let l = l.trim_start();
            l.starts_with("Requests/sec")
                || l.starts_with("Latency")
                || l.starts_with("50%")
                || l.starts_with("99%")
                || l.starts_with("Non-2xx")
                || l.contains("requests in")
        }) {
            println!("   {}", line.trim());
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.stop().await;
    Ok(())
}

/// A Lua long string holding `s` verbatim.
fn lua_string(s: &str) -> String {
    let mut level = 0;
    while s.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{s}]{eq}]")
}
