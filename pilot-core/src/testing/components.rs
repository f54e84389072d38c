//! Real components that tests need (Nix, PostgreSQL, promtool, ...) and what
//! a test does when one is missing.
//!
//! The rule, in one place: under `CI=true` a missing component fails the
//! test with a message naming it and what to run; elsewhere the test prints
//! `skipping: <component> is unavailable (<hint>)` to stderr and returns
//! early, so that a machine without the component still runs the rest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Applies the rule to a component a test needs and does not have: panics
/// under `CI=true`; otherwise prints `skipping: <component> is unavailable
/// (<hint>)` to stderr and returns `false`, for the test to return early.
///
/// `hint` says what makes the component available, e.g.
/// `"run scripts/setup/nix.sh"`.
///
/// ```
/// use pilot_core::testing::unavailable;
///
/// /// Whether `tool` is on PATH; when it is not, the test fails under CI
/// /// and returns early elsewhere.
/// fn require(tool: &str) -> bool {
///     let found = std::process::Command::new(tool).arg("--version").output().is_ok();
///     found || unavailable(tool, "run scripts/setup/metrics-tools.sh")
/// }
///
/// fn a_test_that_needs_promtool() {
///     if !require("promtool") {
///         return;
///     }
///     // ... run promtool
/// }
/// ```
pub fn unavailable(component: &str, hint: &str) -> bool {
    apply(verdict(component, hint, ci().as_deref()))
}

/// Makes sure a real component is there: when `available` says it is not,
/// runs `bash <setup_script>` (at most once per process and script, see
/// [`run_setup`]) and asks again; when it is still missing, applies
/// [`unavailable`] with the hint to run the script. Returns whether the
/// component is there.
///
/// ```no_run
/// use pilot_core::testing::{ensure_component, setup_script};
///
/// let nix_works = || {
///     std::process::Command::new("nix")
///         .arg("--version")
///         .output()
///         .is_ok_and(|o| o.status.success())
/// };
/// if !ensure_component("Nix", &setup_script("nix.sh"), nix_works) {
///     return;
/// }
/// // ... run nix
/// ```
pub fn ensure_component(
    component: &str,
    setup_script: &Path,
    available: impl FnMut() -> bool,
) -> bool {
    ensure(component, setup_script, available, ci().as_deref())
}

/// Runs `bash <script> <args...>`; returns its standard output, trimmed,
/// when it succeeds. When it fails or cannot be started, prints why (with
/// its standard error) to stderr and returns `None`.
pub fn run_setup(script: &Path, args: &[&str]) -> Option<String> {
    match Command::new("bash").arg(script).args(args).output() {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(out) => {
            eprintln!(
                "{} failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("cannot run {}: {e}", script.display());
            None
        }
    }
}

/// The path of one of the workspace's setup scripts, `scripts/setup/<name>`,
/// e.g. `setup_script("postgres.sh")`.
pub fn setup_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pilot-core lives in the workspace")
        .join("scripts/setup")
        .join(name)
}

/// The value of `CI`, if set.
fn ci() -> Option<String> {
    std::env::var("CI").ok()
}

/// What a test does about a missing component.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Fail, with this message.
    Fail(String),
    /// Skip, printing this message.
    Skip(String),
}

/// The rule, given the value of `CI`: only `CI=true` fails.
fn verdict(component: &str, hint: &str, ci: Option<&str>) -> Verdict {
    if ci == Some("true") {
        Verdict::Fail(format!(
            "{component} is required under CI=true but is unavailable ({hint})"
        ))
    } else {
        Verdict::Skip(format!("skipping: {component} is unavailable ({hint})"))
    }
}

fn apply(verdict: Verdict) -> bool {
    match verdict {
        Verdict::Fail(message) => panic!("{message}"),
        Verdict::Skip(message) => {
            eprintln!("{message}");
            false
        }
    }
}

/// [`ensure_component`] with the value of `CI` given.
fn ensure(
    component: &str,
    setup_script: &Path,
    mut available: impl FnMut() -> bool,
    ci: Option<&str>,
) -> bool {
    if available() {
        return true;
    }
    // Each script runs at most once per process; the lock also keeps two
    // tests of one process from running it at the same time.
    static RAN: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    {
        let mut ran = RAN.lock().unwrap_or_else(|e| e.into_inner());
        if ran.insert(setup_script.to_path_buf()) {
            run_setup(setup_script, &[]);
        }
    }
    if available() {
        return true;
    }
    let hint = format!("run {}", setup_script.display());
    apply(verdict(component, &hint, ci))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ci_true_fails_and_the_messages_name_component_and_hint() {
        let skip = Verdict::Skip("skipping: Nix is unavailable (run nix.sh)".into());
        assert_eq!(verdict("Nix", "run nix.sh", None), skip);
        for other in ["", "false", "1", "TRUE"] {
            assert_eq!(
                verdict("Nix", "run nix.sh", Some(other)),
                skip,
                "CI={other}"
            );
        }
        assert_eq!(
            verdict("Nix", "run nix.sh", Some("true")),
            Verdict::Fail("Nix is required under CI=true but is unavailable (run nix.sh)".into())
        );
    }

    #[test]
    fn skipping_returns_false() {
        assert!(!apply(verdict("promtool", "run tools.sh", None)));
    }

    #[test]
    #[should_panic(
        expected = "promtool is required under CI=true but is unavailable (run tools.sh)"
    )]
    fn under_ci_a_missing_component_fails() {
        apply(verdict("promtool", "run tools.sh", Some("true")));
    }

    /// A setup script that appends a line to `runs` and creates `provides`
    /// when `works`.
    fn script(dir: &Path, works: bool) -> PathBuf {
        let path = dir.join(if works { "works.sh" } else { "fails.sh" });
        let body = if works {
            "echo run >> \"$(dirname \"$0\")/runs\"\ntouch \"$(dirname \"$0\")/provides\"\n"
        } else {
            "echo run >> \"$(dirname \"$0\")/runs\"\necho 'cannot install' >&2\nexit 1\n"
        };
        std::fs::write(&path, body).unwrap();
        path
    }

    fn runs(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("runs"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    #[test]
    fn an_available_component_needs_no_setup() {
        let dir = tempfile::tempdir().unwrap();
        let setup = script(dir.path(), true);
        assert!(ensure("thing", &setup, || true, Some("true")));
        assert_eq!(runs(dir.path()), 0);
    }

    #[test]
    fn a_missing_component_is_set_up_once_and_checked_again() {
        let dir = tempfile::tempdir().unwrap();
        let setup = script(dir.path(), true);
        let provides = dir.path().join("provides");
        assert!(ensure("thing", &setup, || provides.exists(), Some("true")));
        assert_eq!(runs(dir.path()), 1);
        std::fs::remove_file(&provides).unwrap();
        // The script already ran in this process: it is not run again.
        assert!(!ensure("thing", &setup, || provides.exists(), None));
        assert_eq!(runs(dir.path()), 1);
    }

    #[test]
    fn a_failed_setup_skips_outside_ci() {
        let dir = tempfile::tempdir().unwrap();
        let setup = script(dir.path(), false);
        assert!(!ensure("thing", &setup, || false, None));
        assert_eq!(runs(dir.path()), 1);
    }

    #[test]
    #[should_panic(expected = "thing is required under CI=true but is unavailable (run ")]
    fn a_failed_setup_fails_under_ci() {
        let dir = tempfile::tempdir().unwrap();
        let setup = script(dir.path(), false);
        ensure("thing", &setup, || false, Some("true"));
    }

    #[test]
    fn setup_output_is_returned_trimmed_and_failures_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let echo = dir.path().join("echo.sh");
        std::fs::write(&echo, "echo \"  url-for-$1  \"\n").unwrap();
        assert_eq!(run_setup(&echo, &["x"]).as_deref(), Some("url-for-x"));
        assert_eq!(run_setup(&script(dir.path(), false), &[]), None);
        assert_eq!(run_setup(&dir.path().join("missing.sh"), &[]), None);
    }

    #[test]
    fn setup_scripts_are_found_in_the_workspace() {
        assert!(setup_script("nix.sh").is_file());
        assert!(setup_script("postgres.sh").ends_with("scripts/setup/postgres.sh"));
    }
}
