//! The SQLite file both stores share: its schema, kept current when a
//! store opens it, and how its constraint failures read.

use std::path::Path;

use gas_sqlite::rusqlite;
use gas_sqlite::Sqlite;

use crate::StoreError;

/// Tables of both stores. `CREATE ... IF NOT EXISTS` only: every process
/// that opens the file runs it.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    job_id                  TEXT PRIMARY KEY NOT NULL,
    user_id                 TEXT NOT NULL,
    input_file_name         TEXT NOT NULL,
    s3_inputs_bucket        TEXT NOT NULL,
    s3_key_input_file       TEXT NOT NULL,
    submit_time             INTEGER NOT NULL,
    job_status              TEXT NOT NULL,
    s3_results_bucket       TEXT,
    s3_key_result_file      TEXT,
    s3_key_log_file         TEXT,
    complete_time           INTEGER,
    results_file_archive_id TEXT,
    archive_execution_id    TEXT,
    retrieval_job_id        TEXT,
    failure_reason          TEXT,
    progress                REAL NOT NULL DEFAULT 0,
    lease_expires           INTEGER,
    annotation_warnings     TEXT,
    window_started          INTEGER,
    requeued_at             INTEGER,
    input_etag              TEXT,
    variants_archive_id     TEXT,
    variants_retrieval_job_id TEXT
);
CREATE INDEX IF NOT EXISTS jobs_user_submit
    ON jobs (user_id, submit_time DESC, job_id DESC);

CREATE TABLE IF NOT EXISTS users (
    user_id          TEXT PRIMARY KEY NOT NULL,
    email            TEXT NOT NULL,
    -- The email as compared: lowercased (Unicode), so uniqueness and lookup
    -- ignore case while `email` keeps what the user typed.
    email_key        TEXT NOT NULL UNIQUE,
    role             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    password_hash    TEXT,
    api_token_sha256 TEXT UNIQUE
);

-- Browser sessions, by the SHA-256 of the cookie's secret.
CREATE TABLE IF NOT EXISTS sessions (
    session_sha256 TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);

-- API tokens made on the profile page or by `gas user add`. Their hashes
-- share one space with users.api_token_sha256 (the legacy single token):
-- the store checks both before it inserts into either.
CREATE TABLE IF NOT EXISTS api_tokens (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    token_id     TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (user_id),
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_id, created_at);

-- Sign-ins at OpenID Connect providers: one (issuer, subject), one user.
CREATE TABLE IF NOT EXISTS identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (user_id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);

-- Failed sign-ins by the caller's throttle key (`user_id` is that key; the
-- name is the column's first use). Old rows are pruned on each new one.
CREATE TABLE IF NOT EXISTS sign_in_failures (
    user_id TEXT PRIMARY KEY NOT NULL,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_last_at ON sign_in_failures (last_at);

-- Payment provider events (Stripe webhooks) already handled, by event id.
CREATE TABLE IF NOT EXISTS payment_events (
    event_id    TEXT PRIMARY KEY NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_events_age ON payment_events (recorded_at);
";

/// Columns added to tables after their first release, with their types:
/// `CREATE TABLE IF NOT EXISTS` leaves an older file's table as it was, so
/// opening a file adds whichever of these it lacks.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("jobs", "window_started", "INTEGER"),
    ("jobs", "requeued_at", "INTEGER"),
    ("jobs", "input_etag", "TEXT"),
    ("jobs", "variants_archive_id", "TEXT"),
    ("jobs", "variants_retrieval_job_id", "TEXT"),
];

/// Adds the [`ADDED_COLUMNS`] an older database lacks. Two processes may
/// race here: the loser's "duplicate column" error means the column is there.
fn add_missing_columns(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    for (table, column, kind) in ADDED_COLUMNS {
        let present: bool = conn
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))?
            .exists([column])?;
        if present {
            continue;
        }
        match conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}")) {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(_, Some(msg)))
                if msg.contains("duplicate column") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens (creating if needed) the database file shared by both stores.
pub(super) fn open_db(path: &Path) -> Result<Sqlite, StoreError> {
    if path.exists() {
        // An older file may lack columns added since (the schema's
        // `CREATE ... IF NOT EXISTS` leaves its tables as they are).
        let conn = rusqlite::Connection::open(path).map_err(StoreError::backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(15))
            .and_then(|()| conn.execute_batch(SCHEMA))
            .and_then(|()| add_missing_columns(&conn))
            .map_err(StoreError::backend)?;
    }
    Sqlite::open(path, SCHEMA).map_err(StoreError::backend)
}

pub(super) fn open_db_in_memory() -> Result<Sqlite, StoreError> {
    Sqlite::open_in_memory(SCHEMA).map_err(StoreError::backend)
}

/// Runs the given schema on an already open database (used by
/// `from_sqlite` constructors so a caller can share one connection).
pub(super) async fn ensure_schema(db: &Sqlite) -> Result<(), StoreError> {
    db.call(|conn| {
        conn.execute_batch(SCHEMA)
            .and_then(|()| add_missing_columns(conn))
            .map_err(StoreError::backend)
    })
    .await
}

/// Whether `e` is a UNIQUE or PRIMARY KEY violation, and if so on which
/// column (`table.column` as SQLite names it).
pub(super) fn unique_violation(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(err, msg)
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            let msg = msg.as_deref().unwrap_or("");
            Some(
                msg.strip_prefix("UNIQUE constraint failed: ")
                    .unwrap_or(msg),
            )
        }
        _ => None,
    }
}
