use anyhow::{Context, Result};
use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use tracing::info;

use crate::notify::{Email, Mailer};

/// Sends email through Amazon SES (v2 API). `from` must be an identity
/// verified in SES.
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        SesMailer {
            client,
            from: from.into(),
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<()> {
        let text = |s: &str| Content::builder().data(s).charset("UTF-8").build();
        let message = Message::builder()
            .subject(text(&email.subject).context("building the subject")?)
            .body(
                Body::builder()
                    .text(text(&email.body).context("building the body")?)
                    .build(),
            )
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sesv2::error::DisplayErrorContext(e)))
            .context("sending email through SES")?;
        info!(id = %email.id, ses_message_id = sent.message_id().unwrap_or_default(), "email sent");
        Ok(())
    }
}
