//! Validation of `env`: variable names, string values and `{{NAME}}` placeholders.

use serde_json::{Map, Value};

use super::check::Checker;
use super::locate::child_key;
use super::placeholder::{Found, is_identifier, scan};

/// Env variables Pilot sets itself, which a config may not set.
pub(crate) const RESERVED_ENV: &[&str] = &["PORT"];

const ENV_EXAMPLE: &str = "{\"APP_ENV\": \"production\", \"DB_PASSWORD\": \"{{DB_PASSWORD}}\"}";

/// Checks `env` of the document `doc`.
pub(crate) fn check(c: &mut Checker<'_>, doc: &Map<String, Value>) {
    let Some(value) = doc.get("env") else {
        return;
    };
    let Some(map) = c.object("env", value, ENV_EXAMPLE) else {
        return;
    };
    for (key, value) in map {
        let path = child_key("env", key);
        name(c, &path, key);
        if let Some(text) = c.string(&path, value, "\"production\" or \"{{SECRET_NAME}}\"") {
            text_value(c, &path, key, text);
        }
    }
}

fn name(c: &mut Checker<'_>, path: &str, key: &str) {
    if RESERVED_ENV.contains(&key) {
        c.at_key(
            path,
            format!("`{key}` is set by Pilot and cannot be set in env"),
            "remove it: the app must listen on the port Pilot passes in $PORT; the public \
             port is the top-level \"port\"",
        );
    } else if !is_identifier(key) {
        let mut guess: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !guess.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            guess.insert(0, '_');
        }
        c.at_key(
            path,
            format!("invalid environment variable name `{key}`"),
            format!("use letters, digits and `_`, not starting with a digit, e.g. `{guess}`"),
        );
    }
}

fn text_value(c: &mut Checker<'_>, path: &str, key: &str, text: &str) {
    if text.contains('\0') {
        c.at_value(
            path,
            format!("the value of `{key}` contains a NUL character"),
            "remove the \\u0000; environment values cannot contain it",
        );
    }
    for found in scan(text) {
        if let Found::Typo(typo) = found {
            c.at_value(path, typo.message(key), typo.hint());
        }
    }
}
