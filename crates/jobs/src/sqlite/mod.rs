//! The embedded adapters: job records and user profiles in one SQLite file.
//!
//! Why SQLite: the embedded backend must give the same guarantees as
//! DynamoDB (atomic conditional writes, strongly consistent reads, keyset
//! pagination) without any server. Each job is a row whose columns are the
//! record's attributes, so every transition is one `UPDATE ... WHERE
//! <condition> RETURNING ...` statement: SQLite runs it atomically, even when
//! several processes share the file (WAL mode, a busy timeout; see
//! `gas-sqlite`). When the statement changes nothing, the adapter reads the
//! row to tell a missing job from a failed condition.
//!
//! Both stores can live in the same file: each runs the whole (idempotent)
//! schema when it opens it.

// Inside, bottom to top: `db` (the schema, opening a file) and `cursor`;
// `jobs` (the job store) and `users` (the users table, its rows, and
// whether a token hash is taken); `auth` and `events` (sessions, tokens,
// identities, sign-in failures and payment events, as methods of the user
// store); `user_store` (the `UserStore` trait, delegating to those).
mod auth;
// The listing cursor is backend-neutral: the DynamoDB adapter uses it too.
pub(crate) mod cursor;
mod db;
mod events;
mod jobs;
mod user_store;
mod users;

pub use jobs::SqliteJobStore;
pub use users::SqliteUserStore;
