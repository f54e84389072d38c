//! `{{NAME}}` placeholders in env values, and the typos that look like one.
//!
//! A placeholder is exactly two opening braces, a name matching
//! `[A-Za-z_][A-Za-z0-9_]*`, and exactly two closing braces. Near misses such
//! as `{{ NAME }}`, `{NAME}}`, `{{NAME}`, `{{}}`, `{{{NAME}}}`, `{{NAME}}}` or
//! `{{db-password}}` are typos: they are reported by validation and are never
//! returned as placeholder names.

/// What was found in a value: a well-formed placeholder or a typo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// A well-formed `{{NAME}}`.
    Placeholder(&'a str),
    /// Something that looks like a placeholder but is not one.
    Typo(Typo<'a>),
}

/// A malformed placeholder: the text as written and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Typo<'a> {
    /// The text as written, e.g. `{{ DB_PASSWORD }}`.
    pub text: &'a str,
    /// What is wrong.
    pub kind: TypoKind,
    /// The name the user most likely meant, when one can be guessed.
    pub name: Option<String>,
}

/// The ways a placeholder can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypoKind {
    /// Spaces around the name: `{{ NAME }}`.
    Spaces,
    /// Nothing between the braces: `{{}}`.
    Empty,
    /// The name has characters other than letters, digits and `_`, or starts with a digit.
    BadName,
    /// One opening brace: `{NAME}}`.
    OneOpeningBrace,
    /// One closing brace: `{{NAME}`.
    OneClosingBrace,
    /// No closing braces at all: `{{NAME`.
    Unclosed,
    /// More than two braces on a side: `{{{NAME}}}`, `{{NAME}}}`.
    ExtraBraces,
}

impl Typo<'_> {
    /// A lowercase sentence describing the typo in the value of env variable `key`.
    pub(crate) fn message(&self, key: &str) -> String {
        let what = match self.kind {
            TypoKind::Spaces => "has spaces around the name",
            TypoKind::Empty => "has no name",
            TypoKind::BadName => "has a name that is not letters, digits and `_`",
            TypoKind::OneOpeningBrace => "has one opening brace instead of two",
            TypoKind::OneClosingBrace => "has one closing brace instead of two",
            TypoKind::Unclosed => "is not closed",
            TypoKind::ExtraBraces => "has more than two braces",
        };
        format!("placeholder `{}` in `{key}` {what}", self.text)
    }

    /// What to write instead.
    pub(crate) fn hint(&self) -> String {
        let name = self.name.as_deref().unwrap_or("SECRET_NAME");
        let rule = match self.kind {
            TypoKind::Spaces => "no spaces inside the braces",
            TypoKind::Empty => "a secret name between the braces",
            TypoKind::BadName => {
                "a name of letters, digits and `_` that does not start with a digit"
            }
            _ => "exactly two braces on each side",
        };
        format!("write `{{{{{name}}}}}`, with {rule}")
    }
}

/// Names of the well-formed `{{NAME}}` placeholders in one value, in order of
/// appearance. Typos are skipped; validation reports them.
pub fn placeholders(value: &str) -> Vec<String> {
    scan(value)
        .into_iter()
        .filter_map(|found| match found {
            Found::Placeholder(name) => Some(name.to_string()),
            Found::Typo(_) => None,
        })
        .collect()
}

/// Whether `name` matches `[A-Za-z_][A-Za-z0-9_]*`, the rule for placeholder
/// and env names.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every placeholder and placeholder typo in a value, in order.
pub(crate) fn scan(value: &str) -> Vec<Found<'_>> {
    let bytes = value.as_bytes();
    let run = |from: usize, brace: u8| bytes[from..].iter().take_while(|&&b| b == brace).count();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        let open = run(i, b'{');
        let inner_start = i + open;
        let inner_end = bytes[inner_start..]
            .iter()
            .position(|&b| b == b'{' || b == b'}')
            .map_or(bytes.len(), |p| inner_start + p);
        let inner = &value[inner_start..inner_end];
        if inner_end == bytes.len() || bytes[inner_end] == b'{' {
            if open >= 2 {
                found.push(typo(&value[i..inner_end], TypoKind::Unclosed, inner));
            }
            i = inner_end;
            continue;
        }
        let close = run(inner_end, b'}');
        let end = inner_end + close;
        let text = &value[i..end];
        match (open, close) {
            (1, 1) => {}
            (1, _) => {
                if looks_like_name(inner) {
                    found.push(typo(text, TypoKind::OneOpeningBrace, inner));
                }
            }
            (2, 2) => found.push(classify_pair(text, inner)),
            (2, 1) => found.push(typo(text, TypoKind::OneClosingBrace, inner)),
            _ => found.push(typo(text, TypoKind::ExtraBraces, inner)),
        }
        i = end;
    }
    found
}

/// Classifies `{{inner}}`.
fn classify_pair<'a>(text: &'a str, inner: &'a str) -> Found<'a> {
    if is_identifier(inner) {
        Found::Placeholder(inner)
    } else if inner.trim().is_empty() {
        typo(text, TypoKind::Empty, inner)
    } else if is_identifier(inner.trim()) {
        typo(text, TypoKind::Spaces, inner)
    } else {
        typo(text, TypoKind::BadName, inner)
    }
}

fn typo<'a>(text: &'a str, kind: TypoKind, inner: &str) -> Found<'a> {
    Found::Typo(Typo {
        text,
        kind,
        name: guess_name(inner),
    })
}

/// Text between braces that is plausibly a name someone meant as a placeholder.
fn looks_like_name(inner: &str) -> bool {
    let inner = inner.trim();
    !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The identifier closest to what was written: trimmed, other characters
/// replaced by `_`, and `_` prefixed when it starts with a digit.
fn guess_name(inner: &str) -> Option<String> {
    let trimmed = inner.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut name: String = trimmed
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(value: &str) -> Vec<TypoKind> {
        scan(value)
            .into_iter()
            .filter_map(|f| match f {
                Found::Typo(t) => Some(t.kind),
                Found::Placeholder(_) => None,
            })
            .collect()
    }

    #[test]
    fn well_formed_placeholders_are_found_in_order() {
        assert_eq!(
            placeholders("postgres://{{DB_USER}}:{{DB_PASSWORD}}@db/{{_x1}}"),
            ["DB_USER", "DB_PASSWORD", "_x1"]
        );
        assert!(placeholders("no placeholders here").is_empty());
    }

    #[test]
    fn every_typo_kind_is_detected_and_not_returned() {
        for (value, kind) in [
            ("{{ NAME }}", TypoKind::Spaces),
            ("{{NAME }}", TypoKind::Spaces),
            ("{NAME}}", TypoKind::OneOpeningBrace),
            ("{{NAME}", TypoKind::OneClosingBrace),
            ("{{}}", TypoKind::Empty),
            ("{{  }}", TypoKind::Empty),
            ("{{{NAME}}}", TypoKind::ExtraBraces),
            ("{{NAME}}}", TypoKind::ExtraBraces),
            ("{{db-password}}", TypoKind::BadName),
            ("{{1PASSWORD}}", TypoKind::BadName),
            ("prefix {{NAME", TypoKind::Unclosed),
            ("{{A{{B}}", TypoKind::Unclosed),
        ] {
            assert_eq!(kinds(value), [kind], "{value:?}");
            let expected: &[&str] = if value == "{{A{{B}}" { &["B"] } else { &[] };
            assert_eq!(placeholders(value), expected, "{value:?}");
        }
    }

    #[test]
    fn single_braces_and_json_are_left_alone() {
        for value in ["${HOME}", "{\"a\":{\"b\":1}}", "{x}", "a } b { c", "}}"] {
            assert!(scan(value).is_empty(), "{value:?}");
        }
    }

    #[test]
    fn hints_show_the_corrected_placeholder() {
        let Found::Typo(t) = &scan("{{db-password}}")[0] else {
            panic!("expected a typo");
        };
        assert_eq!(
            t.hint(),
            "write `{{db_password}}`, with a name of letters, digits and `_` that does not start \
             with a digit"
        );
        let Found::Typo(t) = &scan("{{ API_KEY }}")[0] else {
            panic!("expected a typo");
        };
        assert_eq!(
            t.message("API_KEY"),
            "placeholder `{{ API_KEY }}` in `API_KEY` has spaces around the name"
        );
        assert!(t.hint().starts_with("write `{{API_KEY}}`"));
    }
}
