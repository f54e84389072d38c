//! The raw form of a catalog file and the checks it must pass.
//!
//! This file is also compiled into the crate's build script, which checks the
//! built-in `catalog.toml` so that a broken catalog fails the build; it
//! therefore uses nothing but `std`, `serde` and `toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The languages a catalog must describe, by their `runtime` key.
pub const LANGUAGES: [&str; 5] = ["node", "php", "python", "go", "ruby"];

/// The name of the nixpkgs input, always present.
pub const NIXPKGS: &str = "nixpkgs";

/// Placeholders an attribute template may use.
pub const PLACEHOLDERS: [&str; 3] = ["{version}", "{major}", "{minor}"];

/// A whole catalog file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    /// The pinned nixpkgs.
    pub nixpkgs: RawInput,
    /// Further flake inputs, by name.
    #[serde(default)]
    pub inputs: BTreeMap<String, RawInput>,
    /// One entry per language, by its `runtime` key.
    pub languages: BTreeMap<String, RawLanguage>,
}

/// A flake input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// The flake reference, pinned to a revision.
    pub url: String,
}

/// How one language's versions map to packages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLanguage {
    /// Supported series and the nixpkgs attribute of each.
    pub series: BTreeMap<String, String>,
    /// Where exact releases come from.
    pub exact: RawExact,
}

/// Where exact releases of a language come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExact {
    /// The input providing them (`nixpkgs` or a name under `[inputs]`).
    pub input: String,
    /// Attribute template, e.g. `"{version}"` or `"php{major}{minor}"`.
    pub attribute: String,
    /// Whether the generated flake must check the package's version.
    #[serde(default)]
    pub check: bool,
}

/// Parses a catalog and returns it with every problem found.
pub fn parse(text: &str) -> Result<RawCatalog, Vec<String>> {
    let raw: RawCatalog = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let problems = problems(&raw);
    if problems.is_empty() {
        Ok(raw)
    } else {
        Err(problems)
    }
}

/// Every problem of a parsed catalog; empty when it is usable.
pub fn problems(raw: &RawCatalog) -> Vec<String> {
    let mut out = Vec::new();
    check_url(&mut out, NIXPKGS, &raw.nixpkgs.url);
    for (name, input) in &raw.inputs {
        if !is_identifier(name) || name == NIXPKGS {
            out.push(format!(
                "input name {name:?} must be a plain identifier other than \"nixpkgs\""
            ));
        }
        check_url(&mut out, name, &input.url);
    }
    for language in LANGUAGES {
        if !raw.languages.contains_key(language) {
            out.push(format!(
                "language {language} is missing; add [languages.{language}]"
            ));
        }
    }
    for (language, entry) in &raw.languages {
        if !LANGUAGES.contains(&language.as_str()) {
            out.push(format!(
                "unknown language {language:?}; known languages are {}",
                LANGUAGES.join(", ")
            ));
        }
        if entry.series.is_empty() {
            out.push(format!("languages.{language}.series lists no series"));
        }
        for (series, attribute) in &entry.series {
            if !is_series(series) {
                out.push(format!(
                    "languages.{language}.series: {series:?} is not a `major` or `major.minor` series"
                ));
            }
            if !is_attribute(attribute) {
                out.push(format!(
                    "languages.{language}.series.{series:?}: {attribute:?} is not a Nix attribute name"
                ));
            }
        }
        let exact = &entry.exact;
        if exact.input != NIXPKGS && !raw.inputs.contains_key(&exact.input) {
            out.push(format!(
                "languages.{language}.exact.input {:?} is neither \"nixpkgs\" nor listed under [inputs]",
                exact.input
            ));
        }
        if !is_attribute(&fill(&exact.attribute, "1.2.3", "1", "2")) || has_stray_brace(exact) {
            out.push(format!(
                "languages.{language}.exact.attribute {:?} must be a Nix attribute name using only {}",
                exact.attribute,
                PLACEHOLDERS.join(", ")
            ));
        }
    }
    out
}

/// Fills an attribute template.
pub fn fill(template: &str, version: &str, major: &str, minor: &str) -> String {
    template
        .replace("{version}", version)
        .replace("{major}", major)
        .replace("{minor}", minor)
}

fn has_stray_brace(exact: &RawExact) -> bool {
    let mut rest = exact.attribute.clone();
    for placeholder in PLACEHOLDERS {
        rest = rest.replace(placeholder, "");
    }
    rest.contains(['{', '}'])
}

fn check_url(out: &mut Vec<String>, name: &str, url: &str) {
    if url.trim().is_empty() || url.contains(['"', '\\', '$', '\n']) {
        out.push(format!(
            "the url of input {name} must be a flake reference such as \"github:owner/repo/<rev>\""
        ));
    }
}

/// `major` or `major.minor`, digits only.
fn is_series(series: &str) -> bool {
    let parts: Vec<&str> = series.split('.').collect();
    parts.len() <= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A plain Nix identifier (letters, digits, `_`, `-`, `'`, not starting with a digit).
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'\''))
}

/// An attribute name a catalog may use: an identifier, or a version-like name
/// such as `3.11.7` or `ruby-3.2.2` (rendered quoted).
pub fn is_attribute(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
