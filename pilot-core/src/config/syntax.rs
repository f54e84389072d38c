//! JSON syntax errors turned into a [`Problem`] with a 1-based line and
//! column (in characters) and a hint about the usual cause.

use super::error::Problem;

/// Describes why `text` is not JSON. `error` is what serde_json reported for it.
pub(crate) fn syntax_problem(text: &str, error: &serde_json::Error) -> Problem {
    let (line, column) = position(text, error.line(), error.column());
    let full = error.to_string();
    let reason = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i]);
    let found = char_at(text, line, column);
    let previous_line = previous_token_line(text, line, column);
    Problem {
        path: String::new(),
        message: format!("invalid JSON: {}", reason.replace("EOF", "end of file")),
        hint: Some(hint(reason, found, text, (line, previous_line))),
        line: Some(line),
        column: Some(column),
    }
}

/// The usual cause of a serde_json syntax error, as advice.
/// `lines` is the line of the error and the line of the last token before it.
fn hint(reason: &str, found: Option<char>, text: &str, lines: (usize, usize)) -> String {
    let hint = match reason {
        "trailing comma" => "remove the comma after the last item of the object or list",
        "EOF while parsing a value" if text.trim().is_empty() => {
            "the file is empty; write a JSON object such as \
             {\"name\": \"my-app\", \"type\": \"nodejs\", \"runtime\": {\"node\": \"20\"}, \
             \"start\": {\"command\": \"node server.js\"}}"
        }
        "EOF while parsing a value" => "the file ends where a value was expected; complete it",
        "EOF while parsing an object" => "an object is not closed; add the missing `}`",
        "EOF while parsing a list" => "a list is not closed; add the missing `]`",
        "EOF while parsing a string" => "a string is missing its closing double quote `\"`",
        "key must be a string" | "expected value" | "expected ident" => {
            return value_hint(reason, found);
        }
        "expected `:`" => "put a colon `:` between the field name and its value",
        "expected `,` or `}`" | "expected `,` or `]`" => match lines {
            (line, previous) if previous < line => {
                return format!(
                    "separate items with a comma; one is probably missing at the end of line \
                     {previous}"
                );
            }
            _ => "separate items with a comma; one is probably missing just before this point",
        },
        "trailing characters" => {
            "the file must hold exactly one JSON object; remove what follows its closing `}`"
        }
        "invalid escape" => {
            "inside a string, write a backslash as `\\\\`; the valid escapes are \
             \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"
        }
        "invalid number" => "write numbers like 8080, 0.5 or 1e3, without leading zeros",
        "number out of range" => "this number is too large; use a smaller one",
        "recursion limit exceeded" => "the document is nested too deeply; flatten it",
        r if r.starts_with("control character") => {
            "a string holds a raw line break or tab, most likely because its closing quote \
             is missing; write line breaks as \\n and tabs as \\t"
        }
        r if r.contains("unicode") || r.contains("surrogate") => {
            "check the \\uXXXX escapes: each needs four hex digits and a valid code point"
        }
        _ => "fix the JSON syntax at this position",
    };
    hint.to_string()
}

/// Hints for a value or key that is not valid JSON, by the character found.
fn value_hint(reason: &str, found: Option<char>) -> String {
    let hint = match found {
        Some('\'') => "use double quotes `\"` instead of single quotes",
        Some('/') | Some('#') => "JSON does not allow comments; remove them",
        Some(',') => "a value is missing before this comma",
        Some('}') | Some(']') => "a value is missing before this bracket",
        Some(c) if c.is_alphabetic() || c == '_' => {
            if reason == "key must be a string" {
                "put field names in double quotes, e.g. \"name\""
            } else {
                "put text in double quotes; only true, false and null (lowercase) go without"
            }
        }
        _ if reason == "key must be a string" => "put field names in double quotes, e.g. \"name\"",
        _ => "write a string in double quotes, a number, true, false, null, an object or a list",
    };
    hint.to_string()
}

/// Converts serde_json's position (1-based line, byte column where 0 means the
/// line break ending the previous line) into a 1-based line and character column.
fn position(text: &str, line: usize, byte_column: usize) -> (usize, usize) {
    let lines: Vec<&str> = text.split('\n').collect();
    let line = line.clamp(1, lines.len().max(1));
    if byte_column == 0 {
        if line == 1 {
            return (1, 1);
        }
        let above = lines[line - 2];
        return (line - 1, above.chars().count() + 1);
    }
    let Some(current) = lines.get(line - 1) else {
        return (line, byte_column);
    };
    let mut end = (byte_column - 1).min(current.len());
    while !current.is_char_boundary(end) {
        end -= 1;
    }
    (line, current[..end].chars().count() + 1)
}

/// The line of the last non-whitespace character before a 1-based line and column.
fn previous_token_line(text: &str, line: usize, column: usize) -> usize {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut line = line.min(lines.len());
    let mut before: String = lines
        .get(line.saturating_sub(1))
        .map(|l| l.chars().take(column.saturating_sub(1)).collect())
        .unwrap_or_default();
    while before.trim().is_empty() && line > 1 {
        line -= 1;
        before = lines[line - 1].to_string();
    }
    line.max(1)
}

/// The character at a 1-based line and character column, if any.
fn char_at(text: &str, line: usize, column: usize) -> Option<char> {
    text.split('\n')
        .nth(line.checked_sub(1)?)?
        .chars()
        .nth(column.checked_sub(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Problem {
        let error = serde_json::from_str::<serde_json::Value>(text)
            .expect_err("the text is not valid JSON");
        syntax_problem(text, &error)
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let p = problem("{\"é\": x}");
        assert_eq!((p.line, p.column), (Some(1), Some(7)));
        assert!(p.hint.unwrap_or_default().contains("double quotes"));
    }

    #[test]
    fn a_raw_line_break_points_at_the_end_of_the_line() {
        let p = problem("{\"a\": \"x\ny\"}");
        assert_eq!((p.line, p.column), (Some(1), Some(9)));
        assert!(p.message.starts_with("invalid JSON: control character"));
    }

    #[test]
    fn hints_name_the_usual_cause() {
        for (text, words) in [
            ("{\"a\": 1,}", "remove the comma"),
            ("{\n  \"a\": 'x'\n}", "single quotes"),
            ("{\"a\": // c\n 1}", "comments"),
            ("", "the file is empty"),
            ("{\"a\": 1", "missing `}`"),
            ("{\"a\": 1\n\"b\": 2}", "end of line 1"),
            ("{a: 1}", "field names in double quotes"),
            ("{\"a\" 1}", "colon"),
            ("{} x", "exactly one JSON object"),
        ] {
            let p = problem(text);
            let hint = p.hint.unwrap_or_default();
            assert!(hint.contains(words), "{text:?}: {hint}");
            assert!(p.line.is_some() && p.column.is_some());
        }
    }
}
