//! The bottom floor of the web app: secrets and tokens, cookies, the form
//! token, sealed values and session records. Nothing here imports anything
//! else of the crate, so each piece can be read and tested alone; the
//! domain, the integrations and both HTTP faces build on them.

pub mod cookie;
pub mod csrf;
pub mod secret;
pub mod session;
pub mod signed;
