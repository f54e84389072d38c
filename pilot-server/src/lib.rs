//! # pilot-server
//!
//! The Pilot server library behind the `pilot` binary. This crate currently
//! provides its error type; the REST API, agent listener and CLI build on it.

pub mod error;

pub use error::{Error, Result};
