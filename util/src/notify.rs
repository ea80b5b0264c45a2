use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use async_trait::async_trait;
use gas_jobs::messages::JobComplete;
use gas_jobs::{JobStatus, UserStore};
use gas_messaging::sns::unwrap_queue_body;
use tracing::{info, warn};

use crate::drain::{Disposition, MessageHandler};

/// One email to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Stable per event, so that a repeated delivery replaces rather than
    /// repeats (used as the Message-ID and, in the outbox, the file name).
    pub id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends email. Contract: `send` of an email with an `id` already sent may
/// send it again or not, but never fails because of it.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<()>;
}

/// The embedded mailer: writes each email as an RFC 5322 `.eml` file into a
/// directory, where any mail client can open it.
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: impl Into<String>) -> Self {
        OutboxMailer {
            dir,
            from: from.into(),
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<()> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .with_context(|| format!("creating the outbox {}", self.dir.display()))?;
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc2822)
            .context("formatting the date")?;
        let text = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@gas.local>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}",
            from = self.from,
            to = header_safe(&email.to),
            subject = header_safe(&email.subject),
            id = header_safe(&email.id),
            body = email.body.replace('\n', "\r\n"),
        );
        let name: String = email
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{name}.eml"));
        let tmp = self.dir.join(format!(".{name}.eml.tmp"));
        tokio::fs::write(&tmp, text).await?;
        tokio::fs::rename(&tmp, &path).await?;
        info!(path = %path.display(), "email written to the outbox");
        Ok(())
    }
}

/// Keeps header values on one line: a user-chosen file name must not add
/// headers.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// Tells users their job finished.
pub struct Notifier {
    pub users: Arc<dyn UserStore>,
    pub mailer: Arc<dyn Mailer>,
    /// The web app's public URL, for the link to the job.
    pub web_url: String,
}

#[async_trait]
impl MessageHandler for Notifier {
    fn name(&self) -> &'static str {
        "notify"
    }

    /// E-mails are independent and mostly waiting on the mail service.
    fn concurrency(&self) -> usize {
        10
    }

    async fn handle(&self, body: &str) -> Result<Disposition> {
        let done: JobComplete = match serde_json::from_str(&unwrap_queue_body(body)) {
            Ok(d) => d,
            Err(e) => {
                warn!(error = %e, "not a job-complete message");
                return Ok(Disposition::Poison);
            }
        };
        let Some(user) = self.users.get(&done.user_id).await? else {
            return Ok(Disposition::Done);
        };
        let status = done.job_status.unwrap_or(JobStatus::Completed);
        let input = done.input_file_name.as_deref().unwrap_or("your file");
        let (verb, next) = match status {
            JobStatus::Failed => ("failed", "The job page says why."),
            _ => ("is complete", "Download the results from the job page."),
        };
        let email = Email {
            id: format!(
                "job-{}-{}",
                done.job_id,
                status.as_str().to_ascii_lowercase()
            ),
            to: user.email.clone(),
            subject: format!("GAS: annotation of {input} {verb}"),
            body: format!(
                "Your annotation job {job} ({input}) {verb}.\n{next}\n\n{url}/annotations/{job}\n",
                job = done.job_id,
                url = self.web_url.trim_end_matches('/'),
            ),
        };
        self.mailer.send(&email).await?;
        metrics::counter!("gas_util_emails_total").increment(1);
        Ok(Disposition::Done)
    }
}
