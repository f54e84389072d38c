//! Fetching a release: git repositories and uploaded archives.

mod error;

pub use error::SourceError;
