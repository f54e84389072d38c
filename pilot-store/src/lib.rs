//! # pilot-store
//!
//! Durable state for the Pilot server: the operational store, the encrypted
//! secret store and the timeseries engine. This crate currently provides its
//! error type; the stores build on the traits of `pilot-core`.

pub mod error;

pub use error::{Error, Result};
