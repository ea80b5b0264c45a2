//! [`SqliteJobStore`]: job records as rows of the `jobs` table.

use std::path::Path;

use async_trait::async_trait;
use gas_sqlite::rusqlite::types::Value;
use gas_sqlite::rusqlite::{self, params_from_iter, OptionalExtension, Row};
use gas_sqlite::Sqlite;

use super::cursor::Cursor;
use crate::{Completion, Job, JobStatus, JobStore, Page, StoreError};

/// The columns every query returns, in the order [`job_from_row`] reads them.
const COLUMNS: &str = "job_id, user_id, input_file_name, s3_inputs_bucket, s3_key_input_file, \
     submit_time, job_status, s3_results_bucket, s3_key_result_file, s3_key_log_file, \
     complete_time, results_file_archive_id, archive_execution_id, retrieval_job_id, \
     failure_reason, progress, lease_expires, annotation_warnings, window_started, requeued_at, \
     input_etag, variants_archive_id, variants_retrieval_job_id";

/// Largest page `list_for_user` returns.
const MAX_PAGE: usize = 100;

/// The embedded [`JobStore`]. Cheap to clone; several instances (in one or
/// several processes) may share a database file.
#[derive(Debug, Clone)]
pub struct SqliteJobStore {
    db: Sqlite,
}

impl SqliteJobStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: super::db::open_db(path)?,
        })
    }

    /// A private in-memory store, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            db: super::db::open_db_in_memory()?,
        })
    }

    /// Uses an already open connection (e.g. the one a [`super::SqliteUserStore`]
    /// uses), creating the tables if needed.
    pub async fn from_sqlite(db: Sqlite) -> Result<Self, StoreError> {
        super::db::ensure_schema(&db).await?;
        Ok(Self { db })
    }

    /// The underlying connection, to share it with another store.
    pub fn sqlite(&self) -> &Sqlite {
        &self.db
    }

    /// Runs one conditional update of `job_id`: `SET {set} WHERE job_id = ?1
    /// AND ({condition})`, with `params` bound from `?2` on. `what` names the
    /// condition for the error when it does not hold.
    async fn transition(
        &self,
        job_id: &str,
        set: &'static str,
        condition: &'static str,
        params: Vec<Value>,
        what: String,
    ) -> Result<Job, StoreError> {
        let job_id = job_id.to_string();
        let sql = format!(
            "UPDATE jobs SET {set} WHERE job_id = ?1 AND ({condition}) RETURNING {COLUMNS}"
        );
        self.db
            .call(move |conn| {
                let mut all = Vec::with_capacity(params.len() + 1);
                all.push(Value::Text(job_id.clone()));
                all.extend(params);
                let updated = conn
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_row(params_from_iter(all), job_from_row)
                            .optional()
                    })
                    .map_err(StoreError::backend)?;
                if let Some(job) = updated {
                    return Ok(job);
                }
                // Jobs are never deleted, so reading after the failed update
                // tells the two cases apart without a transaction.
                match read_job(conn, &job_id).map_err(StoreError::backend)? {
                    None => Err(StoreError::NotFound(format!("job {job_id}"))),
                    Some(job) => Err(StoreError::ConditionFailed(format!(
                        "{what} (job {job_id} is {})",
                        job.describe_state()
                    ))),
                }
            })
            .await
    }
}

#[async_trait]
impl JobStore for SqliteJobStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        let job = job.clone();
        self.db
            .call(move |conn| {
                let sql = format!(
                    "INSERT INTO jobs ({COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
                     ?22, ?23)"
                );
                let inserted = conn.execute(
                    &sql,
                    rusqlite::params![
                        job.job_id,
                        job.user_id,
                        job.input_file_name,
                        job.s3_inputs_bucket,
                        job.s3_key_input_file,
                        job.submit_time,
                        job.job_status.as_str(),
                        job.s3_results_bucket,
                        job.s3_key_result_file,
                        job.s3_key_log_file,
                        job.complete_time,
                        job.results_file_archive_id,
                        job.archive_execution_id,
                        job.retrieval_job_id,
                        job.failure_reason,
                        job.progress,
                        job.lease_expires,
                        job.annotation_warnings,
                        job.window_started,
                        job.requeued_at,
                        job.input_etag,
                        job.variants_archive_id,
                        job.variants_retrieval_job_id,
                    ],
                );
                match inserted {
                    Ok(_) => Ok(()),
                    Err(e) if super::db::unique_violation(&e).is_some() => {
                        Err(StoreError::AlreadyExists(format!("job {}", job.job_id)))
                    }
                    Err(e) => Err(StoreError::backend(e)),
                }
            })
            .await
    }

    async fn get(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let job_id = job_id.to_string();
        self.db
            .call(move |conn| read_job(conn, &job_id).map_err(StoreError::backend))
            .await
    }

    async fn list_for_user(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Job>, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let after = cursor.map(|c| Cursor::decode(c, user_id)).transpose()?;
        let user_id = user_id.to_string();
        self.db
            .call(move |conn| {
                // One row more than the page tells whether another page follows.
                let fetch = (limit + 1) as i64;
                let mut jobs = match &after {
                    None => {
                        let sql = format!(
                            "SELECT {COLUMNS} FROM jobs WHERE user_id = ?1 \
                             ORDER BY submit_time DESC, job_id DESC LIMIT ?2"
                        );
                        let mut stmt = conn.prepare_cached(&sql)?;
                        let rows =
                            stmt.query_map(rusqlite::params![user_id, fetch], job_from_row)?;
                        rows.collect::<rusqlite::Result<Vec<Job>>>()?
                    }
                    Some(c) => {
                        let sql = format!(
                            "SELECT {COLUMNS} FROM jobs WHERE user_id = ?1 \
                             AND (submit_time < ?2 OR (submit_time = ?2 AND job_id < ?3)) \
                             ORDER BY submit_time DESC, job_id DESC LIMIT ?4"
                        );
                        let mut stmt = conn.prepare_cached(&sql)?;
                        let rows = stmt.query_map(
                            rusqlite::params![user_id, c.submit_time, c.job_id, fetch],
                            job_from_row,
                        )?;
                        rows.collect::<rusqlite::Result<Vec<Job>>>()?
                    }
                };
                let next = if jobs.len() > limit {
                    jobs.truncate(limit);
                    jobs.last().map(|last| {
                        Cursor {
                            user_id: user_id.clone(),
                            submit_time: last.submit_time,
                            job_id: last.job_id.clone(),
                        }
                        .encode()
                    })
                } else {
                    None
                };
                Ok(Page { items: jobs, next })
            })
            .await
            .map_err(|e: rusqlite::Error| StoreError::backend(e))
    }

    async fn claim(&self, job_id: &str, now: i64, lease_until: i64) -> Result<Job, StoreError> {
        // A RUNNING job without a lease has no runner that could renew it, so
        // it counts as expired. A new runner starts over: progress resets.
        self.transition(
            job_id,
            "job_status = 'RUNNING', lease_expires = ?3, progress = 0",
            "job_status = 'PENDING' OR (job_status = 'RUNNING' \
             AND (lease_expires IS NULL OR lease_expires < ?2))",
            vec![Value::Integer(now), Value::Integer(lease_until)],
            "claim needs a PENDING job or a RUNNING one whose lease ran out".into(),
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
            "requeued_at = ?2",
            "job_status = 'PENDING' AND submit_time <= ?3 \
             AND (requeued_at IS NULL OR requeued_at <= ?3)",
            vec![Value::Integer(now), Value::Integer(stalled_before)],
            format!("mark_requeued needs a PENDING job not submitted or requeued after {stalled_before}"),
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
            "progress = ?2, lease_expires = ?3",
            "job_status = 'RUNNING'",
            vec![Value::Real(progress), Value::Integer(lease_until)],
            "record_progress needs a RUNNING job".into(),
        )
        .await
    }

    async fn complete(&self, job_id: &str, completion: &Completion) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            "job_status = 'COMPLETED', s3_results_bucket = ?2, s3_key_result_file = ?3, \
             s3_key_log_file = ?4, complete_time = ?5, progress = 1, lease_expires = NULL, \
             annotation_warnings = ?6",
            "job_status = 'RUNNING'",
            vec![
                Value::Text(completion.results_bucket.clone()),
                Value::Text(completion.result_key.clone()),
                Value::Text(completion.log_key.clone()),
                Value::Integer(completion.complete_time),
                completion.warnings.clone().map_or(Value::Null, Value::Text),
            ],
            "complete needs a RUNNING job".into(),
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
        self.transition(
            job_id,
            "job_status = 'FAILED', failure_reason = ?2, \
             s3_key_log_file = COALESCE(?3, s3_key_log_file), complete_time = ?4, \
             lease_expires = NULL",
            "job_status IN ('PENDING', 'RUNNING')",
            vec![
                Value::Text(reason.to_string()),
                log_key.map_or(Value::Null, |k| Value::Text(k.to_string())),
                Value::Integer(complete_time),
            ],
            "fail needs a PENDING or RUNNING job".into(),
        )
        .await
    }

    async fn set_execution_id(&self, job_id: &str, execution_id: &str) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            "archive_execution_id = ?2",
            "job_status = 'COMPLETED'",
            vec![Value::Text(execution_id.to_string())],
            "set_execution_id needs a COMPLETED job".into(),
        )
        .await
    }

    async fn clear_execution_id(&self, job_id: &str) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            "archive_execution_id = NULL",
            "1",
            Vec::new(),
            "clear_execution_id".into(),
        )
        .await
    }

    async fn record_archives(
        &self,
        job_id: &str,
        archive_id: &str,
        variants_archive_id: Option<&str>,
    ) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            "results_file_archive_id = ?2, variants_archive_id = ?3",
            "job_status = 'COMPLETED' \
             AND (results_file_archive_id IS NULL \
                  OR (results_file_archive_id = ?2 AND variants_archive_id IS ?3))",
            vec![
                Value::Text(archive_id.to_string()),
                variants_archive_id.map_or(Value::Null, |v| Value::Text(v.to_string())),
            ],
            format!(
                "record_archive of {archive_id} (index archive {}) needs a COMPLETED job with \
                 no archive id or the same ones",
                variants_archive_id.unwrap_or("none")
            ),
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
            "retrieval_job_id = ?3",
            "results_file_archive_id = ?2 \
             AND (retrieval_job_id IS NULL OR retrieval_job_id = ?3)",
            vec![
                Value::Text(archive_id.to_string()),
                Value::Text(retrieval_job_id.to_string()),
            ],
            format!(
                "record_retrieval of {retrieval_job_id} needs archive id {archive_id} \
                 and no other retrieval"
            ),
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
            "retrieval_job_id = NULL",
            "retrieval_job_id = ?2",
            vec![Value::Text(retrieval_job_id.to_string())],
            format!("clear_retrieval needs retrieval {retrieval_job_id} recorded"),
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
            "variants_retrieval_job_id = ?3",
            "variants_archive_id = ?2 \
             AND (variants_retrieval_job_id IS NULL OR variants_retrieval_job_id = ?3)",
            vec![
                Value::Text(variants_archive_id.to_string()),
                Value::Text(retrieval_job_id.to_string()),
            ],
            format!(
                "record_variants_retrieval of {retrieval_job_id} needs index archive id \
                 {variants_archive_id} and no other index retrieval"
            ),
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
            "variants_retrieval_job_id = NULL",
            "variants_retrieval_job_id = ?2",
            vec![Value::Text(retrieval_job_id.to_string())],
            format!("clear_variants_retrieval needs index retrieval {retrieval_job_id} recorded"),
        )
        .await
    }

    async fn clear_archive(&self, job_id: &str, archive_id: &str) -> Result<Job, StoreError> {
        self.transition(
            job_id,
            "results_file_archive_id = NULL, retrieval_job_id = NULL, \
             variants_archive_id = NULL, variants_retrieval_job_id = NULL",
            "results_file_archive_id = ?2",
            vec![Value::Text(archive_id.to_string())],
            format!("clear_archive needs archive id {archive_id} recorded"),
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
            "window_started = ?2, archive_execution_id = ?3",
            "job_status = 'COMPLETED' AND results_file_archive_id IS NULL \
             AND archive_execution_id IS NULL",
            vec![
                Value::Integer(window_started),
                Value::Text(execution_id.to_string()),
            ],
            "restart_window needs a COMPLETED job with hot results and no pending archive timer"
                .into(),
        )
        .await
    }
}

fn read_job(conn: &rusqlite::Connection, job_id: &str) -> rusqlite::Result<Option<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE job_id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([job_id], job_from_row)
        .optional()
}

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let status: String = row.get(6)?;
    let job_status = JobStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            6,
            rusqlite::types::Type::Text,
            format!("unknown job_status {status:?}").into(),
        )
    })?;
    Ok(Job {
        job_id: row.get(0)?,
        user_id: row.get(1)?,
        input_file_name: row.get(2)?,
        s3_inputs_bucket: row.get(3)?,
        s3_key_input_file: row.get(4)?,
        submit_time: row.get(5)?,
        job_status,
        s3_results_bucket: row.get(7)?,
        s3_key_result_file: row.get(8)?,
        s3_key_log_file: row.get(9)?,
        complete_time: row.get(10)?,
        results_file_archive_id: row.get(11)?,
        archive_execution_id: row.get(12)?,
        retrieval_job_id: row.get(13)?,
        failure_reason: row.get(14)?,
        progress: row.get(15)?,
        lease_expires: row.get(16)?,
        annotation_warnings: row.get(17)?,
        window_started: row.get(18)?,
        requeued_at: row.get(19)?,
        input_etag: row.get(20)?,
        variants_archive_id: row.get(21)?,
        variants_retrieval_job_id: row.get(22)?,
    })
}
