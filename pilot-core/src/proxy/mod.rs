//! The built-in TCP proxy that gives each project a stable public port.

mod error;

pub use error::ProxyError;
