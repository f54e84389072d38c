//! Where each value of a (syntactically valid) JSON document is written: the
//! line and column of every key and value by JSON path, the raw text of each
//! value, and the keys written twice in one object.
//!
//! Paths look like `runtime.node`, `build.commands[1]` or `env["MY KEY"]`;
//! the document itself is the empty path.

use std::collections::HashMap;
use std::ops::Range;

/// A 1-based line and character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Positions of the keys and values of one document.
#[derive(Debug, Default)]
pub(crate) struct Locations {
    values: HashMap<String, (Pos, Range<usize>)>,
    keys: HashMap<String, Pos>,
    /// Keys written more than once in their object: path, key and the
    /// position of each repetition.
    pub duplicates: Vec<(String, String, Pos)>,
    text: String,
}

impl Locations {
    /// Scans `text`, which serde_json has already accepted.
    pub(crate) fn of(text: &str) -> Locations {
        let mut scanner = Scanner {
            text,
            offset: 0,
            pos: Pos { line: 1, column: 1 },
            found: Locations {
                text: text.to_string(),
                ..Locations::default()
            },
        };
        scanner.value(String::new());
        scanner.found
    }

    /// Where the value at `path` starts.
    pub(crate) fn value(&self, path: &str) -> Option<Pos> {
        self.values.get(path).map(|(pos, _)| *pos)
    }

    /// Where the key of the member at `path` is written.
    pub(crate) fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied()
    }

    /// The value at `path` as written, e.g. `3.10` for a number.
    pub(crate) fn raw(&self, path: &str) -> Option<&str> {
        self.values
            .get(path)
            .and_then(|(_, range)| self.text.get(range.clone()))
    }
}

/// The path of member `key` of the object at `parent`.
pub(crate) fn child_key(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '[' | ']' | '"'));
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", serde_json::Value::from(key)),
    }
}

/// The path of element `index` of the list at `parent`.
pub(crate) fn child_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

struct Scanner<'a> {
    text: &'a str,
    offset: usize,
    pos: Pos,
    found: Locations,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.offset..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            self.bump();
        }
    }

    fn value(&mut self, path: String) {
        self.skip_whitespace();
        let (start, pos) = (self.offset, self.pos);
        match self.peek() {
            Some('{') => self.object(&path),
            Some('[') => self.array(&path),
            Some('"') => {
                self.string();
            }
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | '}' | ']' | ' ' | '\t' | '\n' | '\r'))
                {
                    self.bump();
                }
            }
            None => return,
        }
        self.found.values.insert(path, (pos, start..self.offset));
    }

    fn object(&mut self, path: &str) {
        self.bump();
        loop {
            self.skip_whitespace();
            if self.peek() != Some('"') {
                self.bump();
                return;
            }
            let key_pos = self.pos;
            let key = self.string();
            let child = child_key(path, &key);
            if self.found.keys.contains_key(&child) {
                self.found.duplicates.push((child.clone(), key, key_pos));
            } else {
                self.found.keys.insert(child.clone(), key_pos);
            }
            self.skip_whitespace();
            self.bump();
            self.value(child);
            self.skip_whitespace();
            if self.bump() != Some(',') {
                return;
            }
        }
    }

    fn array(&mut self, path: &str) {
        self.bump();
        self.skip_whitespace();
        if self.peek() == Some(']') {
            self.bump();
            return;
        }
        for index in 0.. {
            self.value(child_index(path, index));
            self.skip_whitespace();
            if self.bump() != Some(',') {
                return;
            }
        }
    }

    /// Consumes a string literal and returns its decoded content.
    fn string(&mut self) -> String {
        let start = self.offset;
        self.bump();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '"' => break,
                _ => {}
            }
        }
        serde_json::from_str(&self.text[start..self.offset]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"name\": \"é app\",\n  \"build\": {\"commands\": [\"a\", \"b\"]},\n  \"env\": {\"MY KEY\": \"x\", \"A\": 1, \"A\": 2},\n  \"port\": 3.10\n}";

    #[test]
    fn keys_and_values_are_located_by_path() {
        let loc = Locations::of(TEXT);
        assert_eq!(loc.value(""), Some(Pos { line: 1, column: 1 }));
        assert_eq!(loc.key("name"), Some(Pos { line: 2, column: 3 }));
        assert_eq!(
            loc.value("name"),
            Some(Pos {
                line: 2,
                column: 11
            })
        );
        assert_eq!(
            loc.value("build.commands[1]"),
            Some(Pos {
                line: 3,
                column: 31
            })
        );
        assert_eq!(
            loc.key("env[\"MY KEY\"]"),
            Some(Pos {
                line: 4,
                column: 11
            })
        );
        assert_eq!(loc.raw("port"), Some("3.10"));
        assert_eq!(loc.raw("build.commands"), Some("[\"a\", \"b\"]"));
    }

    #[test]
    fn repeated_keys_are_reported_at_the_repetition() {
        let loc = Locations::of(TEXT);
        assert_eq!(
            loc.duplicates,
            [(
                "env.A".to_string(),
                "A".to_string(),
                Pos {
                    line: 4,
                    column: 34
                }
            )]
        );
    }

    #[test]
    fn paths_quote_keys_that_are_not_plain() {
        assert_eq!(child_key("", "runtime"), "runtime");
        assert_eq!(child_key("runtime", "node"), "runtime.node");
        assert_eq!(child_key("env", "db-password"), "env.db-password");
        assert_eq!(child_key("env", "a.b"), "env[\"a.b\"]");
        assert_eq!(child_key("", ""), "[\"\"]");
        assert_eq!(child_index("build.commands", 1), "build.commands[1]");
    }
}
