//! Peak memory of archiving a large body through [`GlacierVaultStore`],
//! beside the body's size.
//!
//! `cargo run --release -p gas-storage --example archive_memory -- [MiB]`
//! generates MiB (default 1024) of data as a stream of 64 KiB chunks and
//! archives it with the default settings (multipart, 8 MiB parts, 3 in
//! flight). The Glacier endpoint is a minimal HTTP server in this process
//! that reads and discards every body, counting the bytes, and answers the
//! multipart calls: so the bytes really go through the SDK (signing, the
//! SDK's own checksums, HTTP) and the figure is the adapter's and SDK's
//! memory. Prints VmHWM (peak resident set, /proc/self/status) before and
//! after, and checks that the server received every byte.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use gas_storage::glacier::{GlacierSettings, GlacierVaultStore};
use gas_storage::ArchiveStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const CHUNK: usize = 64 * 1024;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Received {
    bytes: AtomicU64,
    parts: AtomicU64,
    archive_size: AtomicU64,
}

/// One keep-alive connection: read a request head, discard its body, answer.
async fn serve(stream: TcpStream, received: Arc<Received>) -> std::io::Result<()> {
    let mut stream = BufReader::with_capacity(64 * 1024, stream);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if stream.read(&mut byte).await? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_string();
        let mut length = 0u64;
        let mut tree_hash = String::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-amz-sha256-tree-hash" => tree_hash = value.trim().to_string(),
                    "x-amz-archive-size" => received
                        .archive_size
                        .store(value.trim().parse().unwrap_or(0), Ordering::SeqCst),
                    _ => {}
                }
            }
        }
        let mut left = length;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = stream.read(&mut buf[..want]).await?;
            if n == 0 {
                return Ok(());
            }
            left -= n as u64;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = path.split('?').next().unwrap_or("");
        let response = match method {
            "POST" if path.ends_with("/multipart-uploads") => format!(
                "HTTP/1.1 201 Created\r\nx-amz-multipart-upload-id: up-1\r\nLocation: {path}/up-1\r\n"
            ),
            "PUT" if path.contains("/multipart-uploads/") => {
                received.bytes.fetch_add(length, Ordering::SeqCst);
                received.parts.fetch_add(1, Ordering::SeqCst);
                format!("HTTP/1.1 204 No Content\r\nx-amz-sha256-tree-hash: {tree_hash}\r\n")
            }
            "POST" if path.contains("/multipart-uploads/") => format!(
                "HTTP/1.1 201 Created\r\nx-amz-archive-id: archive-1\r\nx-amz-sha256-tree-hash: {tree_hash}\r\nLocation: /archives/archive-1\r\n"
            ),
            "POST" if path.ends_with("/archives") => {
                received.bytes.fetch_add(length, Ordering::SeqCst);
                "HTTP/1.1 201 Created\r\nx-amz-archive-id: archive-1\r\n".to_string()
            }
            _ => "HTTP/1.1 204 No Content\r\n".to_string(),
        };
        stream
            .get_mut()
            .write_all(format!("{response}Content-Length: 0\r\n\r\n").as_bytes())
            .await?;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let size = mib * 1024 * 1024;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let received = Arc::new(Received::default());
    let server_received = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let r = server_received.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, r).await {
                    eprintln!("server connection: {e}");
                }
            });
        }
    });

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .load()
        .await;
    let settings = GlacierSettings::default();
    let store = GlacierVaultStore::try_new(
        aws_sdk_glacier::Client::new(&sdk),
        "bench-vault",
        settings.clone(),
    )?;

    // 64 KiB chunks generated on demand: the body is never in memory whole.
    let chunks = (0..size).step_by(CHUNK).map(move |start| {
        let len = (size - start).min(CHUNK as u64) as usize;
        let seed = (start / CHUNK as u64) as u8;
        Ok(Bytes::from(
            (0..len)
                .map(|i| seed.wrapping_add((i >> 7) as u8))
                .collect::<Vec<u8>>(),
        ))
    });
    let body = Box::pin(futures::stream::iter(chunks));

    let before_hwm = status_kib("VmHWM:");
    let start = Instant::now();
    let id = store.archive("bench-job", body).await?;
    let secs = start.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:");

    let got = received.bytes.load(Ordering::SeqCst);
    println!(
        "archived {mib} MiB as {id} in {secs:.1} s ({:.0} MB/s)",
        size as f64 / 1e6 / secs
    );
    println!(
        "settings: part size {} MiB, {} parts in flight, threshold {} MiB",
        settings.part_size >> 20,
        settings.concurrency,
        settings.multipart_threshold >> 20
    );
    println!(
        "endpoint received {} MiB in {} parts; completion archive size {}",
        got >> 20,
        received.parts.load(Ordering::SeqCst),
        received.archive_size.load(Ordering::SeqCst)
    );
    println!("file size:       {:>8} MiB", size >> 20);
    println!(
        "peak RSS before: {:>8.1} MiB (VmHWM)",
        before_hwm as f64 / 1024.0
    );
    println!("peak RSS:        {:>8.1} MiB (VmHWM)", peak as f64 / 1024.0);
    if got != size || received.archive_size.load(Ordering::SeqCst) != size {
        return Err(format!("the endpoint received {got} bytes, not {size}").into());
    }
    Ok(())
}
