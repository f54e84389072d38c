//! # pilot-nix
//!
//! Nix support for Pilot. This crate starts with the one piece every
//! generated flake depends on: [`escape::nix_string`], which turns any config
//! value into a Nix string literal that cannot inject Nix code.
//!
//! ```
//! assert_eq!(pilot_nix::escape::nix_string("a\"${b}"), r#""a\"\${b}""#);
//! ```

pub mod error;
pub mod escape;

pub use error::{Error, Result};
