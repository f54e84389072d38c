//! # pilot-agent
//!
//! The Pilot node agent. This crate currently provides its error type; the
//! server link, command execution and the standalone proxy process build on it.

pub mod error;

pub use error::{Error, Result};
