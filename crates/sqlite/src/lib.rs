//! The embedded backend keeps its state in SQLite files. Every adapter opens
//! its own [`Sqlite`]: one connection behind a mutex, used from Tokio's
//! blocking pool so that a slow statement (or a lock held by another process
//! sharing the file) never stalls the async runtime.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use rusqlite;
use rusqlite::Connection;

/// How long a statement waits for another connection's write lock before
/// failing with `SQLITE_BUSY`. Processes of one installation share the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// A shared SQLite connection. Cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite").finish_non_exhaustive()
    }
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` in WAL mode, so that
    /// readers in other processes do not block the writer, and runs `schema`
    /// (idempotent `CREATE ... IF NOT EXISTS` statements).
    ///
    /// Processes started together (systemd, a script) open a new file at
    /// the same moment. Switching it to WAL, or creating its tables, can
    /// then fail with `SQLITE_BUSY` at once: SQLite does not wait on its
    /// busy handler where waiting could deadlock. Such an open is retried,
    /// with a growing pause, for up to [`BUSY_TIMEOUT`].
    pub fn open(path: &Path, schema: &str) -> rusqlite::Result<Self> {
        if let Some(dir) = path.parent() {
            // A missing directory shows up as SQLite's CANTOPEN; make it here.
            let _ = std::fs::create_dir_all(dir);
        }
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match Self::open_once(path, schema) {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, schema: &str) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::with_schema(conn, schema)
    }

    /// A private in-memory database, for unit tests.
    pub fn open_in_memory(schema: &str) -> rusqlite::Result<Self> {
        Self::with_schema(Connection::open_in_memory()?, schema)
    }

    fn with_schema(conn: Connection, schema: &str) -> rusqlite::Result<Self> {
        conn.execute_batch(schema)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic inside `f` poisons the mutex but leaves the connection
            // usable: SQLite rolls back any open transaction on the next BEGIN.
            let mut guard = conn.lock().unwrap_or_else(|poison| poison.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
    }
}

/// Whether `e` is SQLite's "database is locked" (or busy).
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if matches!(err.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Seconds since the Unix epoch, the unit of every time in GAS records.
pub fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, for due times finer than a second.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn call_runs_statements_and_returns_values() {
        let db = Sqlite::open_in_memory("CREATE TABLE t (x INTEGER);").unwrap();
        db.call(|c| c.execute("INSERT INTO t VALUES (41)", []))
            .await
            .unwrap();
        let x: i64 = db
            .call(|c| c.query_row("SELECT x + 1 FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(x, 42);
    }

    #[tokio::test]
    async fn open_creates_directories_and_survives_reopen() {
        let dir = tempfile_dir();
        let path = dir.join("nested/db.sqlite");
        let schema = "CREATE TABLE IF NOT EXISTS t (x INTEGER);";
        let db = Sqlite::open(&path, schema).unwrap();
        db.call(|c| c.execute("INSERT INTO t VALUES (1)", []))
            .await
            .unwrap();
        drop(db);
        let db = Sqlite::open(&path, schema).unwrap();
        let n: i64 = db
            .call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        // Tests run in parallel: a counter keeps their directories apart.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "gas-sqlite-test-{}-{}-{n}",
            std::process::id(),
            now_millis()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT);
        CREATE INDEX IF NOT EXISTS t_v ON t (v);";

    /// Many openers of one new file at once (as services started together
    /// by systemd are): every one of them comes up.
    #[test]
    fn simultaneous_opens_of_a_new_file_all_succeed() {
        for round in 0..20 {
            let dir = tempfile_dir();
            let path = dir.join("db.sqlite");
            let barrier = Arc::new(std::sync::Barrier::new(8));
            let openers: Vec<_> = (0..8)
                .map(|_| {
                    let (path, barrier) = (path.clone(), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        Sqlite::open(&path, SCHEMA).map(|_| ())
                    })
                })
                .collect();
            for opener in openers {
                opener
                    .join()
                    .unwrap()
                    .unwrap_or_else(|e| panic!("round {round}: an open failed: {e:?}"));
            }
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
