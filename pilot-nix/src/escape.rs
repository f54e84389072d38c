//! Escaping values for Nix source.

/// Renders `value` as a double-quoted Nix string literal that evaluates to
/// exactly `value`: `"`, `\` and `${` are escaped, and newlines, carriage
/// returns and tabs are written as escapes.
pub fn nix_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::nix_string;

    #[test]
    fn escapes_everything_that_could_break_out() {
        assert_eq!(nix_string("plain"), "\"plain\"");
        assert_eq!(nix_string("a\"b"), "\"a\\\"b\"");
        assert_eq!(nix_string("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(
            nix_string("${builtins.abort \"x\"}"),
            "\"\\${builtins.abort \\\"x\\\"}\""
        );
        assert_eq!(nix_string("$HOME and $"), "\"$HOME and $\"");
        assert_eq!(nix_string("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
    }
}
