//! `config.vpspilot.json`: the model, parsing with complete validation, and its JSON Schema.

mod error;
mod model;

pub use error::{ConfigError, Problem};
pub use model::*;

use std::path::Path;

/// Parses and validates the text of a `config.vpspilot.json`.
pub fn parse(text: &str) -> Result<AppConfig, ConfigError> {
    serde_json::from_str(text).map_err(|e| {
        ConfigError::from_problems(vec![Problem {
            path: String::new(),
            message: e.to_string(),
            hint: None,
            line: Some(e.line()),
            column: Some(e.column()),
        }])
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
        source: e,
    })?;
    parse(&text)
}

/// Names of the `{{NAME}}` placeholders in one value, in order of appearance.
pub fn placeholders(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        names.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    names
}
