//! The embedded supervisor: runs services as process groups in their own
//! session, restarts them, rotates their logs, and re-adopts them after a restart.

mod error;

pub use error::SupervisorError;
