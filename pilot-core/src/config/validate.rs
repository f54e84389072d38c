//! Validation of a parsed document: the top-level fields, `runtime` and `nix`.
//! The other sections have their own files.

use serde_json::{Map, Value};

use super::check::{Checker, present};
use super::locate::child_key;
use super::model::{AppType, Language};
use super::suggest;
use super::versions::{is_supported_version, newest_version, versions_hint};

/// The fields of the document.
pub(crate) const ROOT_FIELDS: &[&str] = &[
    "name",
    "type",
    "runtime",
    "build",
    "start",
    "test",
    "env",
    "nix",
    "deployment",
    "resources",
    "port",
];

/// The fields of `runtime`, one per [`Language`].
pub(crate) const RUNTIME_FIELDS: &[&str] = &["node", "php", "python", "go", "ruby"];

/// The fields of `nix`.
pub(crate) const NIX_FIELDS: &[&str] = &["flake_file"];

/// The longest accepted app name, in characters.
const MAX_NAME_CHARS: usize = 100;

const DOCUMENT_EXAMPLE: &str = "{\"name\": \"my-app\", \"type\": \"nodejs\", \"runtime\": {\"node\": \"20\"}, \
     \"start\": {\"command\": \"node server.js\"}}";

/// Checks the whole document and reports every problem to `c`.
pub(crate) fn document(c: &mut Checker<'_>, root: &Value) {
    c.duplicates();
    let Value::Object(doc) = root else {
        c.object("", root, DOCUMENT_EXAMPLE);
        return;
    };
    c.known_fields("", doc, ROOT_FIELDS);
    name(c, doc);
    let app_type = app_type(c, doc);
    runtime(c, doc, app_type);
    super::commands::check(c, doc);
    super::env::check(c, doc);
    nix(c, doc, app_type);
    super::deployment::check(c, doc);
    super::resources::check(c, doc);
    if let Some(value) = present(doc, "port") {
        c.integer("port", value, (1, 65535), "8080");
    }
}

fn name(c: &mut Checker<'_>, doc: &Map<String, Value>) {
    let Some(value) = doc.get("name") else {
        c.missing(
            "name",
            "missing required field `name`",
            "add the app's name, e.g. \"name\": \"my-app\"",
        );
        return;
    };
    let Some(name) = c.string("name", value, "\"my-app\"") else {
        return;
    };
    let length = name.chars().count();
    if name.trim().is_empty() {
        c.at_value(
            "name",
            "`name` is empty",
            "write the app's name, e.g. \"my-app\"",
        );
    } else if length > MAX_NAME_CHARS {
        c.at_value(
            "name",
            format!("`name` is {length} characters long; the limit is {MAX_NAME_CHARS}"),
            "shorten the name",
        );
    } else if name.chars().any(char::is_control) {
        c.at_value(
            "name",
            "`name` contains a line break or another control character",
            "write the name on one line, with printable characters only",
        );
    }
}

fn app_type(c: &mut Checker<'_>, doc: &Map<String, Value>) -> Option<AppType> {
    let names: Vec<&str> = AppType::ALL.iter().map(|t| t.as_str()).collect();
    let Some(value) = doc.get("type") else {
        c.missing(
            "type",
            "missing required field `type`",
            format!("add \"type\" with one of {}", suggest::list(&names)),
        );
        return None;
    };
    let text = c.string("type", value, "\"nodejs\"")?;
    let found = AppType::ALL.into_iter().find(|t| t.as_str() == text);
    if found.is_none() {
        c.at_value(
            "type",
            format!("unknown app type `{text}`"),
            suggest::choice_hint(text, &names, "types"),
        );
    }
    found
}

fn runtime(c: &mut Checker<'_>, doc: &Map<String, Value>, app_type: Option<AppType>) {
    let section = match doc.get("runtime") {
        None => None,
        Some(value) => match c.object("runtime", value, "{\"node\": \"20\"}") {
            Some(map) => Some(map),
            None => return,
        },
    };
    if let Some(map) = section {
        c.known_fields("runtime", map, RUNTIME_FIELDS);
        for lang in Language::ALL {
            if let Some(value) = present(map, lang.as_str()) {
                version(c, lang, value);
            }
        }
    }
    let Some((app_type, lang)) = app_type.and_then(|t| Some((t, t.required_language()?))) else {
        return;
    };
    if section.is_none_or(|map| present(map, lang.as_str()).is_none()) {
        c.missing(
            &child_key("runtime", lang.as_str()),
            format!("a {app_type} app needs a {lang} version"),
            format!(
                "add \"runtime\": {{\"{lang}\": \"{}\"}}; {}",
                newest_version(lang),
                versions_hint(lang)
            ),
        );
    }
}

fn version(c: &mut Checker<'_>, lang: Language, value: &Value) {
    let path = child_key("runtime", lang.as_str());
    let example = format!("\"{}\"", newest_version(lang));
    let Some(version) = c.string(&path, value, &example) else {
        return;
    };
    if is_supported_version(lang, version) {
        return;
    }
    let trimmed = version.trim();
    let without_v = trimmed.strip_prefix(['v', 'V']).unwrap_or(trimmed);
    let hint = if without_v != version && is_supported_version(lang, without_v) {
        format!("write \"{without_v}\", without spaces or a leading `v`")
    } else {
        versions_hint(lang)
    };
    c.at_value(
        &path,
        format!("unsupported {lang} version \"{version}\""),
        hint,
    );
}

fn nix(c: &mut Checker<'_>, doc: &Map<String, Value>, app_type: Option<AppType>) {
    const PATH: &str = "nix.flake_file";
    let mut flake_file = None;
    if let Some(value) = present(doc, "nix") {
        let Some(map) = c.object("nix", value, "{\"flake_file\": \"./flake.nix\"}") else {
            return;
        };
        c.known_fields("nix", map, NIX_FIELDS);
        if let Some(value) = present(map, "flake_file") {
            let Some(path) = c.string(PATH, value, "\"./flake.nix\"") else {
                return;
            };
            flake_path(c, PATH, path);
            flake_file = Some(path);
        }
    }
    match (app_type, flake_file) {
        (Some(AppType::Custom), None) => c.missing(
            PATH,
            "a custom app needs `nix.flake_file`",
            "add \"nix\": {\"flake_file\": \"./flake.nix\"}, the path of your flake in the app",
        ),
        (Some(t), Some(_)) if t != AppType::Custom => c.at_value(
            PATH,
            format!("`nix.flake_file` is only used by custom apps, but the type is {t}"),
            format!(
                "write \"type\": \"custom\" to build with your own flake, or remove \
                 `nix.flake_file` to use Pilot's {t} toolchain"
            ),
        ),
        _ => {}
    }
}

fn flake_path(c: &mut Checker<'_>, path: &str, file: &str) {
    let problem = if file.trim().is_empty() {
        "`nix.flake_file` is empty"
    } else if file.starts_with('/') {
        "`nix.flake_file` must be relative to the app root, not absolute"
    } else if file.split(['/', '\\']).any(|part| part == "..") {
        "`nix.flake_file` may not leave the app directory with `..`"
    } else if file.contains('\0') {
        "`nix.flake_file` contains a NUL character"
    } else {
        return;
    };
    c.at_value(
        path,
        problem,
        "write a path inside the app, relative to its root, e.g. \"./flake.nix\" or \"nix/flake.nix\"",
    );
}
