//! The utility service: SNS webhooks that archive free users' results after
//! their window (`/archive`), restore an upgraded user's archives
//! (`/restore`, `/thaw`), and the job-complete notifier.
//!
//! Each webhook verifies the SNS message, then drains its queue: the queue,
//! not the POST, carries the work, so a lost POST delays nothing for longer
//! than the periodic drain and a duplicate does no harm.

mod archive;
mod drain;
mod notify;
mod restore;
mod ses;
mod webhook;

pub use archive::{variants_archive_name, ArchiveOutcome, Archiver, VARIANTS_ARCHIVE_SUFFIX};
pub use drain::{Disposition, Drainer, MessageHandler};
pub use notify::{Email, Mailer, Notifier, OutboxMailer};
pub use restore::{restore_handlers, Restorer, RetrievalNotice, S3Event};
pub use ses::SesMailer;
pub use webhook::{router, Endpoint, WebhookState};
