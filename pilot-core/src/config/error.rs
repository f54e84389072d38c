//! Errors of config parsing and validation.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path of the offending value, e.g. `runtime.node` or `build.commands[1]`;
    /// empty for the whole document.
    pub path: String,
    /// What is wrong (lowercase).
    pub message: String,
    /// What to write instead, when Pilot can tell.
    pub hint: Option<String>,
    /// 1-based line of the offending text, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the offending text, when known.
    pub column: Option<usize>,
}

impl Problem {
    /// A problem at `path` with no hint and no position.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            hint: None,
            line: None,
            column: None,
        }
    }

    /// The same problem with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// `path: message (hint), line L, column C`; parts that are unknown are left out.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, ", line {line}, column {column}"),
            (Some(line), None) => write!(f, ", line {line}"),
            _ => Ok(()),
        }
    }
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {cause}; check that the file exists and is readable")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The file was read but is not a valid config; every problem is listed,
    /// one per line.
    #[error("{}", invalid_summary(problems))]
    Invalid {
        /// Every problem found, in the order they appear in the file.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// Builds a [`ConfigError::Invalid`].
    pub fn from_problems(problems: Vec<Problem>) -> Self {
        ConfigError::Invalid { problems }
    }

    /// Every problem found; empty for [`ConfigError::Read`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn invalid_summary(problems: &[Problem]) -> String {
    let count = match problems.len() {
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    };
    let mut text = format!(
        "invalid {}: {count}; fix them and try again",
        super::CONFIG_FILE_NAME
    );
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_on_its_own_line() {
        let error = ConfigError::from_problems(vec![
            Problem {
                line: Some(3),
                column: Some(14),
                ..Problem::new("runtime.node", "unsupported node version \"19\"")
                    .with_hint("supported node versions are \"18\", \"20\", \"22\"")
            },
            Problem::new("", "missing field `name`"),
        ]);
        assert_eq!(
            error.to_string(),
            "invalid config.vpspilot.json: 2 problems; fix them and try again\n  \
             runtime.node: unsupported node version \"19\" (supported node versions are \
             \"18\", \"20\", \"22\"), line 3, column 14\n  \
             missing field `name`"
        );
        assert_eq!(error.problems().len(), 2);
    }

    #[test]
    fn read_errors_have_no_problems() {
        let error = ConfigError::Read {
            path: PathBuf::from("/app/config.vpspilot.json"),
            cause: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(error.problems().is_empty());
        assert!(
            error
                .to_string()
                .starts_with("cannot read /app/config.vpspilot.json: ")
        );
    }
}
