use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gas_sqlite::now_millis;
use gas_sqlite::rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{
    check_name, millis, pause, sql_error, LocalMessaging, Shutdown, ARN_ACCOUNT, ARN_PARTITION,
    ARN_REGION,
};
use crate::{MessagingError, Timer, Topic};

/// How many due executions one step fires.
const BATCH: i64 = 100;
/// A claimed execution is fired again by anyone after this, unless marked.
const LEASE: Duration = Duration::from_secs(30);
const MAX_INPUT_BYTES: usize = 256 * 1024;

/// A [`Timer`] kept in the database, like a Step Functions state machine of
/// Wait → sns:Publish: executions are rows (`RUNNING`, then `SUCCEEDED` or
/// `ABORTED`) with ARNs
/// `arn:aws:states:local:000000000000:execution:<state_machine>:<name>`, so
/// they survive restarts. [`fire_due`](Self::fire_due) (looped by
/// [`run`](Self::run)) publishes the input of due executions to the topic.
///
/// As on Step Functions, an execution name (1-80 of `A-Z a-z 0-9 - _`) is
/// used once per state machine and the input must be JSON. `start` with a
/// name already used and the same input returns the existing execution's id,
/// whatever its status, and starts nothing; with another input it is
/// [`MessagingError::Invalid`] (Step Functions' ExecutionAlreadyExists).
///
/// Firing is at least once: a crash between the publish and the status
/// update publishes again, and a `stop` racing the firing may be too late.
#[derive(Clone)]
pub struct SqliteTimer {
    messaging: LocalMessaging,
    state_machine: String,
    topic: Arc<dyn Topic>,
}

impl std::fmt::Debug for SqliteTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTimer")
            .field("state_machine", &self.state_machine)
            .field("topic", &self.topic.arn())
            .finish_non_exhaustive()
    }
}

impl SqliteTimer {
    pub(super) fn new(
        messaging: LocalMessaging,
        state_machine: &str,
        topic: Arc<dyn Topic>,
    ) -> Result<Self, MessagingError> {
        check_name("state machine", state_machine, 80)?;
        Ok(Self {
            messaging,
            state_machine: state_machine.to_owned(),
            topic,
        })
    }

    fn execution_arn(&self, name: &str) -> String {
        format!(
            "{ARN_PARTITION}:states:{ARN_REGION}:{ARN_ACCOUNT}:execution:{}:{name}",
            self.state_machine
        )
    }

    /// Publishes the input of every due running execution (up to 100) and
    /// marks it succeeded; returns how many were published.
    pub async fn fire_due(&self) -> Result<usize, MessagingError> {
        let state_machine = self.state_machine.clone();
        let due: Vec<(String, String)> = self
            .messaging
            .db
            .call(move |conn| {
                let now = now_millis();
                let mut stmt = conn.prepare_cached(
                    "UPDATE timer_executions SET lease_until = ?3
                     WHERE execution_arn IN (
                         SELECT execution_arn FROM timer_executions
                         WHERE state_machine = ?1 AND status = 'RUNNING' AND due_at <= ?2 AND lease_until <= ?2
                         ORDER BY due_at LIMIT ?4)
                     RETURNING execution_arn, input",
                )?;
                let rows = stmt.query_map(params![state_machine, now, now + millis(LEASE), BATCH], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(sql_error)?;
        let mut fired = 0;
        for (execution_arn, input) in due {
            match self.topic.publish(&input).await {
                Ok(message_id) => {
                    let arn = execution_arn.clone();
                    self.messaging
                        .db
                        .call(move |conn| {
                            conn.execute(
                                "UPDATE timer_executions SET status = 'SUCCEEDED'
                                 WHERE execution_arn = ?1 AND status = 'RUNNING'",
                                [arn],
                            )
                        })
                        .await
                        .map_err(sql_error)?;
                    tracing::info!(execution = %execution_arn, topic = %self.topic.arn(), %message_id, "timer fired");
                    fired += 1;
                }
                // The lease expires and the execution fires again later.
                Err(e) => {
                    tracing::warn!(execution = %execution_arn, error = %e, "timer publish failed; will retry")
                }
            }
        }
        Ok(fired)
    }

    /// Fires due executions every `tick` until `shutdown`.
    pub async fn run(self, tick: Duration, mut shutdown: Shutdown) {
        tracing::info!(state_machine = %self.state_machine, ?tick, "timer started");
        loop {
            if let Err(e) = self.fire_due().await {
                tracing::warn!(state_machine = %self.state_machine, error = %e, "timer step failed");
            }
            if pause(&mut shutdown, tick, None).await {
                break;
            }
        }
        tracing::info!(state_machine = %self.state_machine, "timer stopped");
    }
}

#[async_trait]
impl Timer for SqliteTimer {
    async fn start(
        &self,
        name: &str,
        input: &str,
        delay: Duration,
    ) -> Result<String, MessagingError> {
        check_name("execution", name, 80)?;
        if input.len() > MAX_INPUT_BYTES {
            return Err(MessagingError::Invalid(
                "execution input above 256 KiB".into(),
            ));
        }
        serde_json::from_str::<serde_json::Value>(input)
            .map_err(|e| MessagingError::Invalid(format!("execution input is not JSON: {e}")))?;
        let arn = self.execution_arn(name);
        let (state_machine, owned_name, owned_arn, owned_input) = (
            self.state_machine.clone(),
            name.to_owned(),
            arn.clone(),
            input.to_owned(),
        );
        let existing = self
            .messaging
            .db
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT input FROM timer_executions WHERE state_machine = ?1 AND name = ?2",
                        params![state_machine, owned_name],
                        |row| row.get(0),
                    )
                    .optional()?;
                if existing.is_none() {
                    let now = now_millis();
                    tx.execute(
                        "INSERT INTO timer_executions (execution_arn, state_machine, name, input, started_at, due_at, status)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'RUNNING')",
                        params![owned_arn, state_machine, owned_name, owned_input, now, now.saturating_add(millis(delay))],
                    )?;
                }
                tx.commit()?;
                Ok(existing)
            })
            .await
            .map_err(sql_error)?;
        match existing {
            None => {
                tracing::debug!(execution = %arn, ?delay, "timer started");
                Ok(arn)
            }
            Some(previous) if previous == input => Ok(arn),
            Some(_) => Err(MessagingError::Invalid(format!(
                "execution {name} already exists with another input"
            ))),
        }
    }

    async fn stop(&self, execution_id: &str) -> Result<(), MessagingError> {
        let arn = execution_id.to_owned();
        let stopped = self
            .messaging
            .db
            .call(move |conn| {
                conn.execute(
                    "UPDATE timer_executions SET status = 'ABORTED' WHERE execution_arn = ?1 AND status = 'RUNNING'",
                    [arn],
                )
            })
            .await
            .map_err(sql_error)?;
        if stopped > 0 {
            tracing::debug!(execution = execution_id, "timer stopped");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::QueueSettings;
    use crate::Queue;

    #[tokio::test]
    async fn executions_fire_once_and_respect_names_and_inputs() {
        let m = LocalMessaging::open_in_memory().unwrap();
        let topic = m.topic("archive").unwrap();
        topic.subscribe_queue("archive").await.unwrap();
        let queue = m.queue("archive", QueueSettings::default()).unwrap();
        let timer = m.timer("archive", Arc::new(topic)).unwrap();

        let id = timer
            .start("job-1", r#"{"job_id":"1"}"#, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(
            id,
            "arn:aws:states:local:000000000000:execution:archive:job-1"
        );
        assert!(matches!(
            timer
                .start("job-1", r#"{"job_id":"2"}"#, Duration::ZERO)
                .await,
            Err(MessagingError::Invalid(_))
        ));
        assert!(matches!(
            timer.start("job-2", "not json", Duration::ZERO).await,
            Err(MessagingError::Invalid(_))
        ));
        assert!(matches!(
            timer.start("job 2", "{}", Duration::ZERO).await,
            Err(MessagingError::Invalid(_))
        ));

        assert_eq!(timer.fire_due().await.unwrap(), 1);
        assert_eq!(timer.fire_due().await.unwrap(), 0);
        // Starting a finished execution again starts nothing.
        assert_eq!(
            timer
                .start("job-1", r#"{"job_id":"1"}"#, Duration::ZERO)
                .await
                .unwrap(),
            id
        );
        assert_eq!(timer.fire_due().await.unwrap(), 0);
        let got = queue.receive(10, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, r#"{"job_id":"1"}"#);
    }
}
