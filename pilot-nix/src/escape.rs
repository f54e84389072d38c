//! Escaping values for Nix source.
//!
//! Every value Pilot writes into Nix code goes through [`nix_string`] (or
//! [`nix_attr`] for attribute names), so no config value can inject Nix code.

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

/// Nix keywords, which must be quoted when used as attribute names.
const KEYWORDS: [&str; 9] = [
    "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit",
];

/// Renders `name` as a Nix attribute name: bare when it is a plain
/// identifier, otherwise as a quoted string (`"3.11.7"`, `"or"`).
pub fn nix_attr(name: &str) -> String {
    let mut bytes = name.bytes();
    let plain = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'\''))
        && !KEYWORDS.contains(&name)
        && name != "or";
    if plain {
        name.to_string()
    } else {
        nix_string(name)
    }
}

/// A value already rendered as a Nix string literal; templates print it as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NixLiteral(String);

impl NixLiteral {
    /// The literal for `value` (see [`nix_string`]).
    pub fn of(value: &str) -> Self {
        NixLiteral(nix_string(value))
    }

    /// The literal `null`.
    pub fn null() -> Self {
        NixLiteral("null".to_string())
    }

    /// The Nix source text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NixLiteral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{nix_attr, nix_string};

    #[test]
    fn attribute_names_are_quoted_only_when_needed() {
        assert_eq!(nix_attr("python311"), "python311");
        assert_eq!(nix_attr("nixpkgs-python"), "nixpkgs-python");
        assert_eq!(nix_attr("3.11.7"), "\"3.11.7\"");
        assert_eq!(nix_attr("ruby-3.2.2"), "\"ruby-3.2.2\"");
        assert_eq!(nix_attr("or"), "\"or\"");
        assert_eq!(nix_attr("let"), "\"let\"");
        assert_eq!(nix_attr("a b"), "\"a b\"");
        assert_eq!(nix_attr(""), "\"\"");
    }

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
