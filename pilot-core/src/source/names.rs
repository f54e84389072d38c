//! Entry names: turning untrusted names into safe relative paths.

use std::fmt;

/// A path relative to the release root: plain components, none of them
/// empty, `.` or `..`, none containing `/`, `\` or NUL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct RelPath(Vec<String>);

impl RelPath {
    /// The components.
    pub(crate) fn components(&self) -> &[String] {
        &self.0
    }

    /// True for the release root itself.
    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path without its last component (the root for a top-level entry).
    pub(crate) fn parent(&self) -> RelPath {
        RelPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    /// Every proper ancestor except the root, shortest first.
    pub(crate) fn ancestors(&self) -> impl Iterator<Item = RelPath> + '_ {
        (1..self.0.len()).map(|n| RelPath(self.0[..n].to_vec()))
    }

    /// The path with its first component removed.
    pub(crate) fn without_first(&self) -> RelPath {
        RelPath(self.0.iter().skip(1).cloned().collect())
    }

    /// The path with `name` appended.
    pub(crate) fn join(&self, name: &str) -> RelPath {
        let mut parts = self.0.clone();
        parts.push(name.to_owned());
        RelPath(parts)
    }

    /// The path with `name` appended in place.
    pub(crate) fn push(&mut self, name: String) {
        self.0.push(name);
    }

    /// Removes the last component; false at the root.
    pub(crate) fn pop(&mut self) -> bool {
        self.0.pop().is_some()
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(".");
        }
        f.write_str(&self.0.join("/"))
    }
}

/// Turns an entry name into a relative path, or says why it is unsafe.
/// `""`, `"."` and `"./"` give the root.
pub(crate) fn entry_path(name: &[u8]) -> Result<RelPath, String> {
    let text = checked_text(name, "name")?;
    if is_absolute(text) {
        return Err("absolute paths are not allowed".to_owned());
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("a `..` component would leave the release".to_owned()),
            _ => parts.push(part.to_owned()),
        }
    }
    Ok(RelPath(parts))
}

/// Checks a symlink target's spelling (not where it points) and returns it.
pub(crate) fn link_target(target: &[u8]) -> Result<&str, String> {
    let text = checked_text(target, "symlink target")?;
    if text.is_empty() {
        return Err("the symlink target is empty".to_owned());
    }
    if is_absolute(text) {
        return Err(format!("symlink target {text:?} is absolute"));
    }
    Ok(text)
}

/// The components of a relative symlink target, `.` and empty ones dropped.
pub(crate) fn target_components(target: &str) -> impl DoubleEndedIterator<Item = &str> {
    target.split('/').filter(|p| !p.is_empty() && *p != ".")
}

/// UTF-8 without NUL or backslash.
fn checked_text<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("the {what} is not valid utf-8"))?;
    if text.contains('\0') {
        return Err(format!("the {what} contains a nul byte"));
    }
    if text.contains('\\') {
        return Err(format!("the {what} contains a backslash (a windows path)"));
    }
    Ok(text)
}

/// `/x`, `\x` or a windows drive such as `C:`.
fn is_absolute(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.first().is_some_and(|b| *b == b'/' || *b == b'\\')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// Lossy text of an entry name, for messages.
pub(crate) fn display_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_become_components() {
        let path = entry_path(b"./app//src/./main.rs").expect("safe");
        assert_eq!(path.components(), ["app", "src", "main.rs"]);
        assert_eq!(path.to_string(), "app/src/main.rs");
        assert!(entry_path(b"./").expect("root").is_root());
    }

    #[test]
    fn escaping_and_absolute_names_are_refused() {
        for name in [
            &b"../x"[..],
            b"a/../../x",
            b"a/..",
            b"/etc/passwd",
            b"C:\\Windows\\x",
            b"c:/x",
            b"\\\\server\\share",
            b"a\\..\\b",
            b"bad\xffname",
            b"nul\0byte",
        ] {
            assert!(
                entry_path(name).is_err(),
                "{:?} accepted",
                display_name(name)
            );
        }
    }

    #[test]
    fn link_targets_must_be_relative_text() {
        assert_eq!(link_target(b"../lib/x").expect("relative"), "../lib/x");
        assert!(link_target(b"/etc/passwd").is_err());
        assert!(link_target(b"D:x").is_err());
        assert!(link_target(b"").is_err());
        assert!(link_target(b"\xfe").is_err());
    }

    #[test]
    fn ancestors_and_parent() {
        let path = entry_path(b"a/b/c").expect("safe");
        let ancestors: Vec<String> = path.ancestors().map(|p| p.to_string()).collect();
        assert_eq!(ancestors, ["a", "a/b"]);
        assert_eq!(path.parent().to_string(), "a/b");
        assert_eq!(path.without_first().to_string(), "b/c");
        assert_eq!(RelPath::default().parent(), RelPath::default());
    }
}
