//! The catalog of runtime versions Pilot supports: the one place to change when
//! a release series is added or retired.
//!
//! A config may ask for a listed series (`"20"`, `"8.2"`, `"3.11"`) or for an
//! exact release `major.minor.patch` of a listed series (`"20.11.1"`,
//! `"8.2.14"`, `"3.11.7"`). Node.js series are majors; the other languages'
//! series are `major.minor`.

use super::model::Language;

/// Supported series per language, oldest first.
const CATALOG: [(Language, &[&str]); 5] = [
    (Language::Node, &["18", "20", "22"]),
    (Language::Php, &["8.1", "8.2", "8.3"]),
    (Language::Python, &["3.10", "3.11", "3.12"]),
    (Language::Go, &["1.21", "1.22", "1.23"]),
    (Language::Ruby, &["3.1", "3.2", "3.3"]),
];

/// An exact release per language, shown in hints as an example.
const EXACT_EXAMPLES: [(Language, &str); 5] = [
    (Language::Node, "20.11.1"),
    (Language::Php, "8.2.14"),
    (Language::Python, "3.11.7"),
    (Language::Go, "1.22.5"),
    (Language::Ruby, "3.2.2"),
];

/// The supported release series of a language, oldest first, e.g. `["18", "20", "22"]`.
pub fn supported_versions(lang: Language) -> &'static [&'static str] {
    CATALOG
        .iter()
        .find(|(l, _)| *l == lang)
        .map_or(&[], |(_, versions)| *versions)
}

/// Whether `version` is a supported series or an exact `major.minor.patch`
/// release of one.
pub fn is_supported_version(lang: Language, version: &str) -> bool {
    let series = supported_versions(lang);
    if series.contains(&version) {
        return true;
    }
    let Some(parts) = numeric_parts(version) else {
        return false;
    };
    parts.len() == 3
        && series
            .iter()
            .any(|s| numeric_parts(s).is_some_and(|prefix| parts.starts_with(&prefix)))
}

/// The newest supported series of a language, used in hints (`"22"`, `"8.3"`).
pub fn newest_version(lang: Language) -> &'static str {
    supported_versions(lang).last().copied().unwrap_or("")
}

/// An exact release of a supported series, used in hints (`"20.11.1"`).
pub fn exact_version_example(lang: Language) -> &'static str {
    EXACT_EXAMPLES
        .iter()
        .find(|(l, _)| *l == lang)
        .map_or("", |(_, v)| *v)
}

/// A hint listing what may be written for `lang`.
pub(crate) fn versions_hint(lang: Language) -> String {
    let listed = supported_versions(lang)
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "supported {lang} versions are {listed}, or an exact release of one of them such as \"{}\"",
        exact_version_example(lang)
    )
}

/// A regular expression (ECMA 262) matching exactly the versions
/// [`is_supported_version`] accepts, for the JSON Schema.
pub(crate) fn version_pattern(lang: Language) -> String {
    const COMPONENT: &str = "\\.(0|[1-9][0-9]*)";
    let alternatives = supported_versions(lang)
        .iter()
        .map(|series| {
            let escaped = series.replace('.', "\\.");
            match 3usize.saturating_sub(series.split('.').count()) {
                0 => escaped,
                missing => format!("{escaped}(({COMPONENT}){{{missing}}})?"),
            }
        })
        .collect::<Vec<_>>();
    format!("^({})$", alternatives.join("|"))
}

/// The dot-separated numeric components of a version, or `None` when a
/// component is empty, not all digits, or has a leading zero.
pub fn numeric_parts(version: &str) -> Option<Vec<u32>> {
    version
        .split('.')
        .map(|part| {
            let plain = !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'));
            plain.then(|| part.parse().ok()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_versions_and_an_exact_example() {
        for lang in Language::ALL {
            assert!(!supported_versions(lang).is_empty(), "{lang}");
            let example = exact_version_example(lang);
            assert!(is_supported_version(lang, example), "{lang} {example}");
            assert_eq!(example.split('.').count(), 3);
        }
    }

    #[test]
    fn listed_series_and_exact_releases_are_accepted() {
        assert!(is_supported_version(Language::Node, "20"));
        assert!(is_supported_version(Language::Node, "22.3.0"));
        assert!(is_supported_version(Language::Php, "8.2"));
        assert!(is_supported_version(Language::Php, "8.3.10"));
        assert!(is_supported_version(Language::Python, "3.10"));
        assert!(is_supported_version(Language::Python, "3.12.0"));
        assert!(is_supported_version(Language::Go, "1.23.1"));
        assert!(is_supported_version(Language::Ruby, "3.3"));
    }

    #[test]
    fn other_versions_are_rejected() {
        for (lang, v) in [
            (Language::Node, "19"),
            (Language::Node, "20.11"),
            (Language::Node, "19.1.0"),
            (Language::Node, "v20"),
            (Language::Php, "8"),
            (Language::Php, "7.4"),
            (Language::Php, "8.2.x"),
            (Language::Python, "3.1"),
            (Language::Python, "3.11.x"),
            (Language::Python, "3.11.07"),
            (Language::Python, "3.11.7.1"),
            (Language::Go, "1.20"),
            (Language::Ruby, "banana"),
            (Language::Ruby, ""),
            (Language::Ruby, "3.2."),
        ] {
            assert!(!is_supported_version(lang, v), "{lang} {v}");
        }
    }

    #[test]
    fn hint_lists_versions_and_an_exact_example() {
        let hint = versions_hint(Language::Python);
        assert!(hint.contains("\"3.10\", \"3.11\", \"3.12\""), "{hint}");
        assert!(hint.contains("\"3.11.7\""), "{hint}");
    }
}
