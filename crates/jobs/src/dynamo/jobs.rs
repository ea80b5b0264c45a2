//! [`DynamoJobStore`]: job records as items of the jobs table.
//!
//! How the [`JobStore`] contract maps onto DynamoDB:
//! - `create` is a PutItem conditioned on `attribute_not_exists(job_id)`.
//! - `get` is a GetItem with `ConsistentRead`, so it sees every write that
//!   returned before it.
//! - Every transition is exactly one UpdateItem whose ConditionExpression is
//!   `attribute_exists(job_id) AND (<the transition's condition>)`, with
//!   `ReturnValues = ALL_NEW`: DynamoDB evaluates the condition and applies
//!   the update atomically, and returns the record after it. Clearing an
//!   optional field is a `REMOVE`, so an absent `Option` is always an absent
//!   attribute.
//! - When the condition does not hold DynamoDB answers
//!   ConditionalCheckFailedException. The request asks for
//!   `ReturnValuesOnConditionCheckFailure = ALL_OLD`, so the exception
//!   carries the item when it exists: then the answer is ConditionFailed,
//!   worded as the SQLite adapter words it. Without an item the job is
//!   missing; a consistent GetItem confirms that before answering NotFound,
//!   which also covers emulators that leave the item out.
//! - `list_for_user` is in [`super::list`].

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;

use super::error::{request_failed, DynamoError};
use super::item::{job_from_item, job_to_item, n, real, s};
use crate::{Completion, Job, JobStatus, JobStore, Page, StoreError};

/// The [`JobStore`] on a DynamoDB table keyed by `job_id` (S), with the GSI
/// [`super::USER_ID_INDEX`] (`user_id` S, `submit_time` N, projection ALL);
/// [`super::provision`] creates both. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoJobStore {
    client: Client,
    table: String,
}

/// One conditional update of a job.
struct Transition {
    /// The port's operation, for logs.
    operation: &'static str,
    /// The UpdateExpression.
    update: String,
    /// The transition's own condition; `attribute_exists(job_id)` is added.
    condition: Option<&'static str>,
    /// ExpressionAttributeValues (every one must appear in an expression).
    values: Vec<(&'static str, AttributeValue)>,
    /// Names the condition in the ConditionFailed message.
    what: String,
}

impl DynamoJobStore {
    /// A store on `table`, which must exist (see [`super::provision`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads a job with a strongly consistent GetItem.
    async fn read(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        match super::consistent_get(&self.client, &self.table, "job_id", job_id).await? {
            Some(item) => Ok(Some(job_from_item(&item)?)),
            None => Ok(None),
        }
    }

    /// Runs one transition as a single conditional UpdateItem.
    async fn transition(&self, job_id: &str, t: Transition) -> Result<Job, StoreError> {
        let condition = match t.condition {
            Some(c) => format!("attribute_exists(job_id) AND ({c})"),
            None => "attribute_exists(job_id)".to_string(),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("job_id", s(job_id))
            .update_expression(&t.update)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in t.values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| DynamoError::BadItem {
                    key: job_id.to_string(),
                    attribute: "job_id",
                    problem: "UpdateItem returned no attributes".into(),
                })?;
                let job = job_from_item(item)?;
                tracing::debug!(
                    job_id,
                    operation = t.operation,
                    status = job.job_status.as_str(),
                    "job updated"
                );
                Ok(job)
            }
            Err(err) => {
                let old = match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                        e.item().map(job_from_item).transpose()?
                    }
                    _ => return Err(request_failed("UpdateItem", &self.table, err)),
                };
                // No item in the exception: the job is missing (jobs are never
                // deleted, so a consistent read settles it).
                let current = match old {
                    Some(job) => Some(job),
                    None => self.read(job_id).await?,
                };
                match current {
                    None => Err(StoreError::NotFound(format!("job {job_id}"))),
                    Some(job) => {
                        tracing::debug!(job_id, operation = t.operation, "condition failed");
                        Err(StoreError::ConditionFailed(format!(
                            "{} (job {job_id} is {})",
                            t.what,
                            job.describe_state()
                        )))
                    }
                }
            }
        }
    }
}

fn status(value: JobStatus) -> AttributeValue {
    s(value.as_str())
}

#[async_trait]
impl JobStore for DynamoJobStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        let item = job_to_item(job)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(job_id)")
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(job_id = job.job_id, "job created");
                Ok(())
            }
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::AlreadyExists(format!("job {}", job.job_id)))
                }
                _ => Err(request_failed("PutItem", &self.table, err)),
            },
        }
    }

    async fn get(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        self.read(job_id).await
    }

    async fn list_for_user(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Job>, StoreError> {
        super::list::list_for_user(&self.client, &self.table, user_id, limit, cursor).await
    }

    async fn claim(&self, job_id: &str, now: i64, lease_until: i64) -> Result<Job, StoreError> {
        // A RUNNING job without a lease has no runner that could renew it, so
        // it counts as expired. A new runner starts over: progress resets.
        self.transition(
            job_id,
            Transition {
                operation: "claim",
                update: "SET job_status = :running, lease_expires = :lease, progress = :zero"
                    .into(),
                condition: Some(
                    "job_status = :pending OR (job_status = :running \
                     AND (attribute_not_exists(lease_expires) OR lease_expires < :now))",
                ),
                values: vec![
                    (":pending", status(JobStatus::Pending)),
                    (":running", status(JobStatus::Running)),
                    (":now", n(now)),
                    (":lease", n(lease_until)),
                    (":zero", n(0)),
                ],
                what: "claim needs a PENDING job or a RUNNING one whose lease ran out".into(),
            },
        )
        .await
    }

    async fn mark_requeued(
        &self,
        job_id: &str,
        now: i64,
        stalled_before: i64,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "mark_requeued",
                update: "SET requeued_at = :now".into(),
                condition: Some(
                    "job_status = :pending AND submit_time <= :before \
                     AND (attribute_not_exists(requeued_at) OR requeued_at <= :before)",
                ),
                values: vec![
                    (":pending", status(JobStatus::Pending)),
                    (":now", n(now)),
                    (":before", n(stalled_before)),
                ],
                what: format!(
                    "mark_requeued needs a PENDING job not submitted or requeued after \
                     {stalled_before}"
                ),
            },
        )
        .await
    }

    async fn record_progress(
        &self,
        job_id: &str,
        progress: f64,
        lease_until: i64,
    ) -> Result<Job, StoreError> {
        let progress = if progress.is_nan() {
            0.0
        } else {
            progress.clamp(0.0, 1.0)
        };
        self.transition(
            job_id,
            Transition {
                operation: "record_progress",
                update: "SET progress = :p, lease_expires = :lease".into(),
                condition: Some("job_status = :running"),
                values: vec![
                    (":p", real("progress", progress)?),
                    (":lease", n(lease_until)),
                    (":running", status(JobStatus::Running)),
                ],
                what: "record_progress needs a RUNNING job".into(),
            },
        )
        .await
    }

    async fn complete(&self, job_id: &str, completion: &Completion) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "complete",
                update: format!(
                    "SET job_status = :completed, s3_results_bucket = :bucket, \
                     s3_key_result_file = :result, s3_key_log_file = :log, \
                     complete_time = :t, progress = :one{} REMOVE lease_expires{}",
                    if completion.warnings.is_some() {
                        ", annotation_warnings = :warnings"
                    } else {
                        ""
                    },
                    if completion.warnings.is_some() {
                        ""
                    } else {
                        ", annotation_warnings"
                    },
                ),
                condition: Some("job_status = :running"),
                values: [
                    (":completed", status(JobStatus::Completed)),
                    (":running", status(JobStatus::Running)),
                    (":bucket", s(&completion.results_bucket)),
                    (":result", s(&completion.result_key)),
                    (":log", s(&completion.log_key)),
                    (":t", n(completion.complete_time)),
                    (":one", n(1)),
                ]
                .into_iter()
                .chain(completion.warnings.as_deref().map(|w| (":warnings", s(w))))
                .collect(),
                what: "complete needs a RUNNING job".into(),
            },
        )
        .await
    }

    async fn fail(
        &self,
        job_id: &str,
        reason: &str,
        log_key: Option<&str>,
        complete_time: i64,
    ) -> Result<Job, StoreError> {
        // Without a new log key the recorded one (if any) stays.
        let mut update =
            String::from("SET job_status = :failed, failure_reason = :reason, complete_time = :t");
        let mut values = vec![
            (":failed", status(JobStatus::Failed)),
            (":pending", status(JobStatus::Pending)),
            (":running", status(JobStatus::Running)),
            (":reason", s(reason)),
            (":t", n(complete_time)),
        ];
        if let Some(log_key) = log_key {
            update.push_str(", s3_key_log_file = :log");
            values.push((":log", s(log_key)));
        }
        update.push_str(" REMOVE lease_expires");
        self.transition(
            job_id,
            Transition {
                operation: "fail",
                update,
                condition: Some("job_status IN (:pending, :running)"),
                values,
                what: "fail needs a PENDING or RUNNING job".into(),
            },
        )
        .await
    }

    async fn set_execution_id(&self, job_id: &str, execution_id: &str) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "set_execution_id",
                update: "SET archive_execution_id = :e".into(),
                condition: Some("job_status = :completed"),
                values: vec![
                    (":e", s(execution_id)),
                    (":completed", status(JobStatus::Completed)),
                ],
                what: "set_execution_id needs a COMPLETED job".into(),
            },
        )
        .await
    }

    async fn clear_execution_id(&self, job_id: &str) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "clear_execution_id",
                update: "REMOVE archive_execution_id".into(),
                condition: None,
                values: Vec::new(),
                what: "clear_execution_id".into(),
            },
        )
        .await
    }

    async fn record_archives(
        &self,
        job_id: &str,
        archive_id: &str,
        variants_archive_id: Option<&str>,
    ) -> Result<Job, StoreError> {
        // A repeat must name the same pair: the index archive equal, or
        // absent on both sides.
        let (update, condition, mut values) = match variants_archive_id {
            Some(v) => (
                "SET results_file_archive_id = :a, variants_archive_id = :v",
                "job_status = :completed AND (attribute_not_exists(results_file_archive_id) \
                 OR (results_file_archive_id = :a AND variants_archive_id = :v))",
                vec![(":v", s(v))],
            ),
            None => (
                "SET results_file_archive_id = :a REMOVE variants_archive_id",
                "job_status = :completed AND (attribute_not_exists(results_file_archive_id) \
                 OR (results_file_archive_id = :a \
                     AND attribute_not_exists(variants_archive_id)))",
                Vec::new(),
            ),
        };
        values.push((":a", s(archive_id)));
        values.push((":completed", status(JobStatus::Completed)));
        self.transition(
            job_id,
            Transition {
                operation: "record_archive",
                update: update.into(),
                condition: Some(condition),
                values,
                what: format!(
                    "record_archive of {archive_id} (index archive {}) needs a COMPLETED job \
                     with no archive id or the same ones",
                    variants_archive_id.unwrap_or("none")
                ),
            },
        )
        .await
    }

    async fn record_retrieval(
        &self,
        job_id: &str,
        archive_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "record_retrieval",
                update: "SET retrieval_job_id = :r".into(),
                condition: Some(
                    "results_file_archive_id = :a \
                     AND (attribute_not_exists(retrieval_job_id) OR retrieval_job_id = :r)",
                ),
                values: vec![(":a", s(archive_id)), (":r", s(retrieval_job_id))],
                what: format!(
                    "record_retrieval of {retrieval_job_id} needs archive id {archive_id} \
                     and no other retrieval"
                ),
            },
        )
        .await
    }

    async fn clear_retrieval(
        &self,
        job_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "clear_retrieval",
                update: "REMOVE retrieval_job_id".into(),
                condition: Some("retrieval_job_id = :r"),
                values: vec![(":r", s(retrieval_job_id))],
                what: format!("clear_retrieval needs retrieval {retrieval_job_id} recorded"),
            },
        )
        .await
    }

    async fn record_variants_retrieval(
        &self,
        job_id: &str,
        variants_archive_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "record_variants_retrieval",
                update: "SET variants_retrieval_job_id = :r".into(),
                condition: Some(
                    "variants_archive_id = :v \
                     AND (attribute_not_exists(variants_retrieval_job_id) \
                          OR variants_retrieval_job_id = :r)",
                ),
                values: vec![(":v", s(variants_archive_id)), (":r", s(retrieval_job_id))],
                what: format!(
                    "record_variants_retrieval of {retrieval_job_id} needs index archive id \
                     {variants_archive_id} and no other index retrieval"
                ),
            },
        )
        .await
    }

    async fn clear_variants_retrieval(
        &self,
        job_id: &str,
        retrieval_job_id: &str,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "clear_variants_retrieval",
                update: "REMOVE variants_retrieval_job_id".into(),
                condition: Some("variants_retrieval_job_id = :r"),
                values: vec![(":r", s(retrieval_job_id))],
                what: format!(
                    "clear_variants_retrieval needs index retrieval {retrieval_job_id} recorded"
                ),
            },
        )
        .await
    }

    async fn clear_archive(&self, job_id: &str, archive_id: &str) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "clear_archive",
                update: "REMOVE results_file_archive_id, retrieval_job_id, variants_archive_id, \
                         variants_retrieval_job_id"
                    .into(),
                condition: Some("results_file_archive_id = :a"),
                values: vec![(":a", s(archive_id))],
                what: format!("clear_archive needs archive id {archive_id} recorded"),
            },
        )
        .await
    }

    // --- fresh free windows ---

    async fn restart_window(
        &self,
        job_id: &str,
        window_started: i64,
        execution_id: &str,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            Transition {
                operation: "restart_window",
                update: "SET window_started = :w, archive_execution_id = :e".into(),
                condition: Some(
                    "job_status = :completed AND attribute_not_exists(results_file_archive_id) \
                     AND attribute_not_exists(archive_execution_id)",
                ),
                values: vec![
                    (":w", n(window_started)),
                    (":e", s(execution_id)),
                    (":completed", status(JobStatus::Completed)),
                ],
                what: "restart_window needs a COMPLETED job with hot results and no pending \
                       archive timer"
                    .into(),
            },
        )
        .await
    }
}
