//! Validation of `resources`: the memory and CPU limits.

use serde_json::{Map, Value};

use super::check::{Checker, present};
use super::memory::{MIN_MEMORY, MemoryError, parse_memory};

/// The fields of `resources`.
pub(crate) const RESOURCES_FIELDS: &[&str] = &["memory", "cpu"];

/// The most CPU cores a limit may name.
const MAX_CPU: f64 = 1024.0;

const MEMORY_FORMS: &str = "write a number followed by K, M, G or T, e.g. \"512M\", \"1G\", \
                            \"256MiB\" or \"1.5G\"; units are powers of 1024";

/// Checks `resources` of the document `doc`.
pub(crate) fn check(c: &mut Checker<'_>, doc: &Map<String, Value>) {
    let Some(value) = doc.get("resources") else {
        return;
    };
    let example = "{\"memory\": \"512M\", \"cpu\": 0.5}";
    let Some(map) = c.object("resources", value, example) else {
        return;
    };
    c.known_fields("resources", map, RESOURCES_FIELDS);
    if let Some(value) = present(map, "memory") {
        memory(c, value);
    }
    if let Some(value) = present(map, "cpu") {
        cpu(c, value);
    }
}

fn memory(c: &mut Checker<'_>, value: &Value) {
    const PATH: &str = "resources.memory";
    if value.is_number() {
        let raw = c.raw(PATH).unwrap_or_default().to_string();
        c.at_value(
            PATH,
            format!("expected a size with a unit, found the number {raw}"),
            format!("write it as a string with a unit, e.g. \"{raw}M\" for {raw} MiB"),
        );
        return;
    }
    let Some(text) = c.string(PATH, value, "\"512M\"") else {
        return;
    };
    let squeezed: String = text.chars().filter(|ch| !ch.is_whitespace()).collect();
    let (message, hint) = match parse_memory(text) {
        Ok(bytes) if bytes >= MIN_MEMORY => return,
        Ok(_) => (
            format!("memory limit \"{text}\" is below the minimum of 1M"),
            "write at least \"1M\", e.g. \"512M\"".to_string(),
        ),
        Err(_) if squeezed != text && parse_memory(&squeezed).is_ok() => (
            format!("invalid memory size \"{text}\""),
            format!("write it without spaces: \"{squeezed}\""),
        ),
        Err(MemoryError::FractionalBytes) => (
            format!("memory size \"{text}\" is a fraction of a byte"),
            MEMORY_FORMS.to_string(),
        ),
        Err(MemoryError::TooLarge) => (
            format!("memory size \"{text}\" is too large"),
            MEMORY_FORMS.to_string(),
        ),
        Err(MemoryError::Syntax) => (
            format!("invalid memory size \"{text}\""),
            MEMORY_FORMS.to_string(),
        ),
    };
    c.at_value(PATH, message, hint);
}

fn cpu(c: &mut Checker<'_>, value: &Value) {
    const PATH: &str = "resources.cpu";
    let hint = "write a number of cores more than 0 and at most 1024, e.g. 0.5 for half a core";
    let percent = value
        .as_str()
        .and_then(|s| s.trim().strip_suffix('%'))
        .and_then(|p| p.trim().parse::<f64>().ok());
    if let Some(percent) = percent {
        c.at_value(
            PATH,
            format!("expected a number of cores, found the string \"{percent}%\""),
            format!("write it as cores without quotes: {}", percent / 100.0),
        );
        return;
    }
    let Some(cores) = c.number(PATH, value, "0.5") else {
        return;
    };
    let raw = c
        .raw(PATH)
        .map_or_else(|| cores.to_string(), str::to_string);
    if cores <= 0.0 {
        c.at_value(
            PATH,
            format!("`cpu` must be more than 0 cores, found {raw}"),
            hint,
        );
    } else if cores > MAX_CPU {
        c.at_value(
            PATH,
            format!("`cpu` is {raw} cores; the limit is 1024"),
            hint,
        );
    }
}
