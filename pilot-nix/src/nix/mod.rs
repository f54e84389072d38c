//! Calling Nix: options, one command with streamed and logged output, and
//! the summary of its errors.

pub mod command;
pub mod options;
pub mod summary;

pub use command::NixCall;
pub use options::{NixOptions, ReleaseNixDir, current_system};
pub use summary::{NixFailure, summarize};
