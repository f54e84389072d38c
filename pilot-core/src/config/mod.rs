//! `config.vpspilot.json`: the model, parsing with complete validation, and its JSON Schema.
//!
//! [`parse`] reads the text as JSON, then checks every field and reports every
//! problem at once, each with its JSON path (`runtime.node`,
//! `build.commands[1]`), its line and column, and a hint saying what to write
//! instead. Only a config without problems becomes an [`AppConfig`].
//!
//! ```
//! use pilot_core::config::{self, AppType};
//!
//! let config = config::parse(r#"{
//!     "name": "shop",
//!     "type": "nodejs",
//!     "runtime": {"node": "20"},
//!     "start": {"command": "node server.js"},
//!     "env": {"DB_PASSWORD": "{{DB_PASSWORD}}"}
//! }"#).unwrap();
//! assert_eq!(config.app_type, AppType::Nodejs);
//! assert!(config.secret_names().contains("DB_PASSWORD"));
//!
//! let error = config::parse(r#"{"name": "shop", "type": "nodejs",
//!     "runtime": {"node": "19"}, "start": {"command": ""}}"#).unwrap_err();
//! let paths: Vec<&str> = error.problems().iter().map(|p| p.path.as_str()).collect();
//! assert_eq!(paths, ["runtime.node", "start.command"]);
//! ```

mod check;
mod commands;
mod deployment;
mod env;
mod error;
pub mod examples;
mod locate;
mod memory;
mod model;
mod placeholder;
mod resources;
mod schema;
mod suggest;
mod syntax;
mod validate;
pub mod versions;

pub use error::{ConfigError, Problem};
pub use model::*;
pub use placeholder::placeholders;
pub use schema::json_schema;
pub use versions::{is_supported_version, supported_versions};

use std::path::Path;

/// Parses and validates the text of a `config.vpspilot.json`, reporting every
/// problem found (see [`ConfigError::problems`]).
pub fn parse(text: &str) -> Result<AppConfig, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ConfigError::from_problems(vec![syntax::syntax_problem(text, &e)]))?;
    let locations = locate::Locations::of(text);
    let mut checker = check::Checker::new(&locations);
    validate::document(&mut checker, &value);
    let problems = checker.finish();
    if !problems.is_empty() {
        return Err(ConfigError::from_problems(problems));
    }
    serde_json::from_value(value).map_err(|e| {
        ConfigError::from_problems(vec![
            Problem::new(
                "",
                format!("the config passed validation but cannot be read: {e}"),
            )
            .with_hint("report this config to the Pilot maintainers"),
        ])
    })
}

/// Reads and validates `config.vpspilot.json` from an app directory (or the file itself).
pub fn load(path: &Path) -> Result<AppConfig, ConfigError> {
    let file = if path.is_dir() {
        path.join(CONFIG_FILE_NAME)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::Read {
        path: file.clone(),
        cause: e,
    })?;
    parse(&text)
}
