//! "Did you mean …?" for misspelled field names and values.

/// The candidate closest to `input`, if one is close enough to be a likely
/// misspelling (case, a transposition, a missing or extra letter, `_` for `-`).
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input = input.to_lowercase().replace(['_', ' '], "-");
    candidates
        .iter()
        .map(|&candidate| {
            let normalized = candidate.replace('_', "-");
            let score = strsim::normalized_damerau_levenshtein(&input, &normalized)
                .max(strsim::jaro_winkler(&input, &normalized) - 0.15);
            (candidate, score)
        })
        .filter(|&(_, score)| score >= 0.6)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(candidate, _)| candidate)
}

/// `a, b, c` with each name in backticks.
pub(crate) fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hint for a value that is not one of `allowed`: a suggestion when one is
/// close, then the list of allowed values, e.g. "did you mean `build`? valid
/// fields are `name`, `type`, …".
pub(crate) fn choice_hint(input: &str, allowed: &[&str], kind: &str) -> String {
    let all = list(allowed);
    match closest(input, allowed) {
        Some(best) => format!("did you mean `{best}`? valid {kind} are {all}"),
        None => format!("valid {kind} are {all}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::validate::ROOT_FIELDS as ROOT;

    #[test]
    fn likely_misspellings_find_their_field() {
        for (input, expected) in [
            ("bulid", "build"),
            ("Name", "name"),
            ("runtimes", "runtime"),
            ("deploy", "deployment"),
            ("resource", "resources"),
            ("ports", "port"),
            ("enviroment", "env"),
        ] {
            assert_eq!(closest(input, ROOT), Some(expected), "{input}");
        }
        assert_eq!(
            closest(
                "healthcheck_timout",
                &["healthcheck_timeout", "healthcheck_type"]
            ),
            Some("healthcheck_timeout")
        );
        assert_eq!(
            closest("bluegreen", &["blue-green", "in-place", "rolling"]),
            Some("blue-green")
        );
        assert_eq!(
            closest("blue_green", &["blue-green", "in-place", "rolling"]),
            Some("blue-green")
        );
        assert_eq!(
            closest("node", &["laravel", "nodejs", "go", "python"]),
            Some("nodejs")
        );
        assert_eq!(
            closest("nodejs", &["node", "php", "python", "go", "ruby"]),
            Some("node")
        );
    }

    #[test]
    fn unrelated_words_get_no_suggestion() {
        assert_eq!(closest("banana", ROOT), None);
        assert_eq!(closest("xyz", &["http", "tcp"]), None);
    }

    #[test]
    fn choice_hint_lists_every_allowed_value() {
        assert_eq!(
            choice_hint("tcpp", &["http", "tcp"], "types"),
            "did you mean `tcp`? valid types are `http`, `tcp`"
        );
        assert_eq!(
            choice_hint("zzz", &["http", "tcp"], "types"),
            "valid types are `http`, `tcp`"
        );
    }
}
