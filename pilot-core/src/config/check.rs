//! The [`Checker`]: collects every problem of a document, with positions, and
//! offers typed access to JSON values that reports wrong types with a hint.

use serde_json::{Map, Value};

use super::error::Problem;
use super::locate::{Locations, Pos};
use super::suggest;

/// Collects problems while the validators walk a document.
pub(crate) struct Checker<'a> {
    locations: &'a Locations,
    problems: Vec<Problem>,
}

/// The member `key` of `map`, treating `null` as absent (for optional fields).
pub(crate) fn present<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).filter(|v| !v.is_null())
}

impl<'a> Checker<'a> {
    /// A checker for the document whose positions are `locations`.
    pub(crate) fn new(locations: &'a Locations) -> Self {
        Checker {
            locations,
            problems: Vec::new(),
        }
    }

    /// Every problem, ordered by position in the file.
    pub(crate) fn finish(mut self) -> Vec<Problem> {
        self.problems
            .sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(usize::MAX)));
        self.problems
    }

    /// The value at `path` as written in the file.
    pub(crate) fn raw(&self, path: &str) -> Option<&str> {
        self.locations.raw(path)
    }

    fn push(&mut self, path: &str, pos: Option<Pos>, message: String, hint: String) {
        self.problems.push(Problem {
            path: path.to_string(),
            message,
            hint: Some(hint),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
        });
    }

    /// Reports a problem with the value at `path`.
    pub(crate) fn at_value(
        &mut self,
        path: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let pos = self.locations.value(path);
        self.push(path, pos, message.into(), hint.into());
    }

    /// Reports a problem with the key of the member at `path` (unknown or repeated fields).
    pub(crate) fn at_key(
        &mut self,
        path: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let pos = self.locations.key(path);
        self.push(path, pos, message.into(), hint.into());
    }

    /// Reports a missing value at `path`, positioned at its nearest written ancestor.
    pub(crate) fn missing(
        &mut self,
        path: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let mut ancestor = path;
        let pos = loop {
            if let Some(pos) = self.locations.value(ancestor) {
                break Some(pos);
            }
            match ancestor.rfind(['.', '[']) {
                Some(i) => ancestor = &ancestor[..i],
                None if !ancestor.is_empty() => ancestor = "",
                None => break None,
            }
        };
        self.push(path, pos, message.into(), hint.into());
    }

    /// Reports every repeated key of the document.
    pub(crate) fn duplicates(&mut self) {
        for (path, name, pos) in &self.locations.duplicates {
            self.push(
                path,
                Some(*pos),
                format!("field `{name}` is written more than once"),
                "keep only one of them; otherwise only the last one would be used".to_string(),
            );
        }
    }

    /// Reports the members of `map` (the object at `path`) that are not in `allowed`.
    pub(crate) fn known_fields(&mut self, path: &str, map: &Map<String, Value>, allowed: &[&str]) {
        for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let child = super::locate::child_key(path, key);
            let hint = suggest::choice_hint(key, allowed, "fields here");
            self.at_key(&child, format!("unknown field `{key}`"), hint);
        }
    }

    fn wrong_type(&mut self, path: &str, value: &Value, expected: &str, hint: String) {
        let found = self.describe(path, value);
        self.at_value(path, format!("expected {expected}, found {found}"), hint);
    }

    /// How a value is named in messages: "the number 3.10", "the string \"x\"", "a list".
    fn describe(&self, path: &str, value: &Value) -> String {
        match value {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format!("the number {}", self.raw(path).unwrap_or(&n.to_string())),
            Value::String(s) if s.chars().count() > 40 => {
                format!("the string \"{}…\"", s.chars().take(40).collect::<String>())
            }
            Value::String(s) => format!("the string {}", Value::from(s.as_str())),
            Value::Array(_) => "a list".to_string(),
            Value::Object(_) => "an object".to_string(),
        }
    }

    /// The object at `path`; `example` shows a valid one in the hint.
    pub(crate) fn object<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        example: &str,
    ) -> Option<&'v Map<String, Value>> {
        if let Value::Object(map) = value {
            return Some(map);
        }
        self.wrong_type(
            path,
            value,
            "an object",
            format!("write an object, e.g. {example}"),
        );
        None
    }

    /// The list at `path`; a lone string gets the hint to wrap it in a list.
    pub(crate) fn array<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        example: &str,
    ) -> Option<&'v [Value]> {
        if let Value::Array(items) = value {
            return Some(items);
        }
        let hint = match value {
            Value::String(s) => format!("put it in a list: [{}]", Value::from(s.as_str())),
            _ => format!("write a list, e.g. {example}"),
        };
        self.wrong_type(path, value, "a list", hint);
        None
    }

    /// The string at `path`; numbers and booleans get the hint to quote them as written.
    pub(crate) fn string<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        example: &str,
    ) -> Option<&'v str> {
        if let Value::String(s) = value {
            return Some(s);
        }
        let hint = match value {
            Value::Number(_) | Value::Bool(_) => {
                let raw = self
                    .raw(path)
                    .map_or_else(|| value.to_string(), str::to_string);
                format!("write it as a string, in double quotes: \"{raw}\"")
            }
            _ => format!("write a string, e.g. {example}"),
        };
        self.wrong_type(path, value, "a string", hint);
        None
    }

    /// The number at `path`; a quoted number gets the hint to remove the quotes.
    pub(crate) fn number(&mut self, path: &str, value: &Value, example: &str) -> Option<f64> {
        if let Some(n) = value.as_f64().filter(|n| n.is_finite()) {
            return Some(n);
        }
        let hint = unquote_hint(value).unwrap_or_else(|| format!("write a number, e.g. {example}"));
        self.wrong_type(path, value, "a number", hint);
        None
    }

    /// The whole number at `path`, within `min..=max`.
    pub(crate) fn integer(
        &mut self,
        path: &str,
        value: &Value,
        (min, max): (i64, i64),
        example: &str,
    ) -> Option<i64> {
        let hint = if max >= i64::from(u32::MAX) {
            format!("write a whole number of {min} or more, e.g. {example}")
        } else {
            format!("write a whole number from {min} to {max}, e.g. {example}")
        };
        let Some(n) = value.as_f64().filter(|n| n.is_finite()) else {
            let hint = unquote_hint(value).unwrap_or(hint);
            self.wrong_type(path, value, "a whole number", hint);
            return None;
        };
        let raw = self.raw(path).map_or_else(|| n.to_string(), str::to_string);
        let whole = value.as_i64().or_else(|| value.as_u64().map(|_| i64::MAX));
        let message = match whole {
            Some(whole) if (min..=max).contains(&whole) => return Some(whole),
            Some(whole) if whole < min && max >= i64::from(u32::MAX) => {
                format!("{raw} is less than {min}")
            }
            Some(_) => format!("{raw} is out of range"),
            None if n.fract() != 0.0 => format!("expected a whole number, found {raw}"),
            None if n < min as f64 || n > max as f64 => format!("{raw} is out of range"),
            None => format!("expected a whole number without fraction or exponent, found {raw}"),
        };
        self.at_value(path, message, hint);
        None
    }

    /// The boolean at `path`.
    pub(crate) fn boolean(&mut self, path: &str, value: &Value) -> Option<bool> {
        if let Value::Bool(b) = value {
            return Some(*b);
        }
        let hint = match value.as_str().map(str::trim) {
            Some(word @ ("true" | "false")) => format!("write {word} without quotes"),
            _ => "write true or false, without quotes".to_string(),
        };
        self.wrong_type(path, value, "true or false", hint);
        None
    }
}

/// "write it without quotes: 8080" for a string holding a number.
fn unquote_hint(value: &Value) -> Option<String> {
    let text = value.as_str()?.trim();
    let number: f64 = text.parse().ok()?;
    number
        .is_finite()
        .then(|| format!("write it without quotes: {text}"))
}
