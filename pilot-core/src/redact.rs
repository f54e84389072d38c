//! Masking secret values in text (logs, errors, command lines).

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, MatchKind};

/// What a masked value is replaced with.
pub const MASK: &str = "********";

/// Replaces every occurrence of any secret value with [`MASK`].
///
/// Values shorter than [`Redactor::MIN_LEN`] characters are not masked: they
/// would mask ordinary words and digits everywhere, and are too short to be
/// meaningful secrets. Multi-line values are also masked line by line, so
/// output read one line at a time is covered.
#[derive(Clone, Default)]
pub struct Redactor {
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor")
    }
}

impl Redactor {
    /// Shortest value that is masked.
    pub const MIN_LEN: usize = 3;

    /// A redactor that masks nothing.
    pub fn none() -> Self {
        Redactor::default()
    }

    /// A redactor for the given secret values.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns: Vec<String> = Vec::new();
        for value in values {
            let value = value.as_ref();
            patterns.push(value.to_string());
            if value.contains('\n') {
                patterns.extend(value.lines().map(str::to_string));
            }
        }
        patterns.retain(|p| p.chars().count() >= Self::MIN_LEN);
        patterns.sort();
        patterns.dedup();
        if patterns.is_empty() {
            return Redactor::none();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        Redactor { matcher }
    }

    /// `text` with every secret value masked; borrowed when nothing matched.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.matcher {
            Some(m) if m.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                m.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(MASK);
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Whether this redactor masks anything at all.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_value_and_longest_first() {
        let r = Redactor::new(["hunter2", "hunter22", "sk_live_abc"]);
        assert_eq!(
            r.mask("pw=hunter22 key=sk_live_abc again hunter2"),
            "pw=******** key=******** again ********"
        );
        assert!(matches!(r.mask("clean line"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_masked_and_multiline_values_are_masked_per_line() {
        let r = Redactor::new(["ab", "line-one\nline-two"]);
        assert_eq!(r.mask("ab"), "ab");
        assert_eq!(r.mask("x line-two y"), "x ******** y");
        assert!(Redactor::new(["", "x"]).is_empty());
    }
}
