//! Payment provider events already handled, in the `payment_events` table
//! (the [`crate::UserStore`] event methods of [`SqliteUserStore`]).

use gas_sqlite::rusqlite::{self, OptionalExtension};

use super::users::SqliteUserStore;
use crate::StoreError;

/// How long a handled event is remembered (seconds): far beyond Stripe's
/// three days of retries and its signatures' five minutes of tolerance.
pub(crate) const EVENT_RETENTION_SECS: i64 = 30 * 24 * 3600;

impl SqliteUserStore {
    pub(super) async fn event_exists(&self, event_id: &str) -> Result<bool, StoreError> {
        let event_id = event_id.to_string();
        self.sqlite()
            .call(move |conn| {
                conn.prepare_cached("SELECT 1 FROM payment_events WHERE event_id = ?1")?
                    .query_row([event_id], |_| Ok(()))
                    .optional()
                    .map(|found| found.is_some())
            })
            .await
            .map_err(StoreError::backend)
    }

    pub(super) async fn insert_event(&self, event_id: &str, now: i64) -> Result<bool, StoreError> {
        let event_id = event_id.to_string();
        self.sqlite()
            .call(move |conn| {
                let inserted = conn.execute(
                    "INSERT INTO payment_events (event_id, recorded_at) VALUES (?1, ?2) \
                     ON CONFLICT (event_id) DO NOTHING",
                    rusqlite::params![event_id, now],
                )?;
                // Old records go as new ones come: the table stays small.
                conn.execute(
                    "DELETE FROM payment_events WHERE recorded_at < ?1",
                    [now - EVENT_RETENTION_SECS],
                )?;
                Ok(inserted == 1)
            })
            .await
            .map_err(|e: rusqlite::Error| StoreError::backend(e))
    }
}
