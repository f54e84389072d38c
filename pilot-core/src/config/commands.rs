//! Validation of the command sections: `build.commands`, `start.command` and
//! `test.command`.

use serde_json::{Map, Value};

use super::check::{Checker, present};
use super::locate::child_index;

/// The fields of `build`.
pub(crate) const BUILD_FIELDS: &[&str] = &["commands"];

/// The fields of `start` and `test`.
pub(crate) const COMMAND_FIELDS: &[&str] = &["command"];

const BUILD_EXAMPLE: &str = "[\"npm ci\", \"npm run build\"]";

/// Checks `build`, `start` and `test` of the document `doc`.
pub(crate) fn check(c: &mut Checker<'_>, doc: &Map<String, Value>) {
    build(c, doc);
    match doc.get("start") {
        Some(value) => command_section(c, "start", value),
        None => c.missing(
            "start.command",
            "missing required field `start.command`",
            "add \"start\": {\"command\": \"...\"} with a command that runs the app in the \
             foreground and listens on $PORT",
        ),
    }
    if let Some(value) = present(doc, "test") {
        command_section(c, "test", value);
    }
}

fn build(c: &mut Checker<'_>, doc: &Map<String, Value>) {
    let Some(value) = doc.get("build") else {
        return;
    };
    let example = format!("{{\"commands\": {BUILD_EXAMPLE}}}");
    let Some(map) = c.object("build", value, &example) else {
        return;
    };
    c.known_fields("build", map, BUILD_FIELDS);
    let Some(value) = map.get("commands") else {
        return;
    };
    let Some(items) = c.array("build.commands", value, BUILD_EXAMPLE) else {
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let path = child_index("build.commands", index);
        if let Some(text) = c.string(&path, item, "\"npm run build\"") {
            command(
                c,
                &path,
                text,
                "build command",
                "remove the entry or write a command",
            );
        }
    }
}

/// `start` or `test`: an object with a non-empty `command`.
fn command_section(c: &mut Checker<'_>, section: &str, value: &Value) {
    let (example, what) = match section {
        "start" => (
            "\"node server.js\"",
            "a command that runs the app and listens on $PORT",
        ),
        _ => (
            "\"npm test\"",
            "a command that exits with 0 when the tests pass",
        ),
    };
    let path = format!("{section}.command");
    let Some(map) = c.object(section, value, &format!("{{\"command\": {example}}}")) else {
        return;
    };
    c.known_fields(section, map, COMMAND_FIELDS);
    let Some(value) = map.get("command") else {
        c.missing(
            &path,
            format!("missing required field `{path}`"),
            format!("add \"command\": {example}, {what}"),
        );
        return;
    };
    if let Some(text) = c.string(&path, value, example) {
        let remedy = format!("write {what}, e.g. {example}");
        command(c, &path, text, &format!("{section} command"), &remedy);
    }
}

/// A command must have something besides whitespace and no NUL byte.
fn command(c: &mut Checker<'_>, path: &str, text: &str, what: &str, remedy: &str) {
    if text.trim().is_empty() {
        c.at_value(path, format!("the {what} is empty"), remedy);
    } else if text.contains('\0') {
        c.at_value(
            path,
            format!("the {what} contains a NUL character"),
            "remove the \\u0000 from the command; a shell command cannot contain it",
        );
    }
}
