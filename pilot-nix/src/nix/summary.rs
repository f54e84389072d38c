//! Reading Nix's error output: the one cause worth showing, with the
//! `file:line:col` it points at.

use std::fmt;

/// Why a Nix command failed, read from its output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NixFailure {
    /// A fixed-output derivation produced another hash than the one declared.
    HashMismatch {
        /// The derivation, e.g. "source" (from `/nix/store/…-source.drv`).
        derivation: String,
        /// The declared hash.
        specified: String,
        /// The hash the build produced: put it in the flake.
        got: String,
    },
    /// An attribute the flake uses does not exist.
    MissingAttribute {
        /// The attribute, e.g. "python311".
        attribute: String,
        /// Where it is used, e.g. "flake.nix:38:20".
        location: Option<String>,
        /// Nix's suggestion, e.g. "Did you mean python312?".
        suggestion: Option<String>,
    },
    /// The Nix code does not parse.
    Syntax {
        /// The parser's message.
        message: String,
        /// Where, e.g. "flake.nix:4:3".
        location: Option<String>,
    },
    /// Evaluation stopped with an error (a `throw`, a type error, ...).
    Evaluation {
        /// Nix's message.
        message: String,
        /// Where, when Nix says.
        location: Option<String>,
    },
    /// A derivation's builder exited unsuccessfully.
    BuildFailed {
        /// The derivation, e.g. "my-app-1.0".
        derivation: String,
        /// How it exited, e.g. "exit code 3".
        status: String,
        /// Its last output lines.
        last_lines: Vec<String>,
    },
    /// Nix gave no `error:` line (e.g. it was killed).
    NoMessage,
}

impl fmt::Display for NixFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |location: &Option<String>| {
            location
                .as_ref()
                .map_or_else(String::new, |l| format!(" at {l}"))
        };
        match self {
            NixFailure::HashMismatch {
                derivation,
                specified,
                got,
            } => write!(
                f,
                "hash mismatch in {derivation}: the flake declares {specified} but the download has {got}; put {got} in the flake"
            ),
            NixFailure::MissingAttribute {
                attribute,
                location,
                suggestion,
            } => {
                write!(f, "missing attribute '{attribute}'{}", at(location))?;
                if let Some(suggestion) = suggestion {
                    write!(
                        f,
                        " ({})",
                        suggestion.trim_end_matches('?').to_lowercase() + "?"
                    )?;
                }
                Ok(())
            }
            NixFailure::Syntax { message, location } => {
                write!(f, "{message}{}", at(location))
            }
            NixFailure::Evaluation { message, location } => {
                write!(f, "evaluation error{}: {message}", at(location))
            }
            NixFailure::BuildFailed {
                derivation,
                status,
                last_lines,
            } => {
                write!(f, "building {derivation} failed with {status}")?;
                if !last_lines.is_empty() {
                    write!(f, "; last output: {}", last_lines.join(" | "))?;
                }
                Ok(())
            }
            NixFailure::NoMessage => f.write_str("nix stopped without an error message"),
        }
    }
}

/// Reads the cause of a failure from Nix's standard error.
pub fn summarize(stderr: &str) -> NixFailure {
    let lines: Vec<String> = stderr.lines().map(strip_ansi).collect();
    let Some(start) = lines.iter().position(|l| l.starts_with("error:")) else {
        return NixFailure::NoMessage;
    };
    let message = lines[start]["error:".len()..].trim().to_string();
    let rest = &lines[start + 1..];
    let location = rest.iter().find_map(|l| location_of(l));
    if let Some(drv) = between(&message, "hash mismatch in fixed-output derivation '", "'") {
        let field = |name: &str| {
            rest.iter()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_default()
        };
        return NixFailure::HashMismatch {
            derivation: drv_name(&drv),
            specified: field("specified:"),
            got: field("got:"),
        };
    }
    if let Some(attribute) = between(&message, "attribute '", "' missing") {
        return NixFailure::MissingAttribute {
            attribute,
            location,
            suggestion: rest
                .iter()
                .map(|l| l.trim())
                .find(|l| l.starts_with("Did you mean"))
                .map(str::to_string),
        };
    }
    if let Some(drv) = between(&message, "builder for '", "' failed with ") {
        let status = message
            .split_once("' failed with ")
            .map_or("an error", |(_, s)| s.trim_end_matches(';'))
            .to_string();
        let name = drv_name(&drv);
        let prefix = format!("{name}> ");
        let mut last_lines: Vec<String> = lines[..start]
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect();
        if last_lines.is_empty() {
            last_lines = rest
                .iter()
                .filter_map(|l| l.trim().strip_prefix("> ").map(str::to_string))
                .collect();
        }
        let keep = last_lines.len().saturating_sub(3);
        return NixFailure::BuildFailed {
            derivation: name,
            status,
            last_lines: last_lines.split_off(keep),
        };
    }
    if message.starts_with("syntax error") {
        return NixFailure::Syntax { message, location };
    }
    NixFailure::Evaluation { message, location }
}

/// `at /nix/store/…-source/sub/flake.nix:4:3:` → `sub/flake.nix:4:3`.
fn location_of(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("at ")?;
    let rest = rest.strip_suffix(':').unwrap_or(rest);
    let path = match rest.strip_prefix("/nix/store/") {
        Some(in_store) => in_store.split_once('/').map_or(in_store, |(_, p)| p),
        None => rest,
    };
    path.contains(':').then(|| path.to_string())
}

/// `/nix/store/<hash>-fails.drv` → `fails`.
fn drv_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let file = file.strip_suffix(".drv").unwrap_or(file);
    file.split_once('-')
        .map_or(file, |(_, name)| name)
        .to_string()
}

fn between(text: &str, open: &str, close: &str) -> Option<String> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(text[start..start + len].to_string())
}

/// Removes terminal color sequences (`ESC [ … m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
