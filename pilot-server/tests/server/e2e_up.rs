//! `pilot up APP_DIR` from a clean directory: a server and a local agent in
//! one process; the app answers through the built-in proxy and the API
//! and sign-in page answer, within a minute. And the README's run command
//! as it is (runtime `auto`), with and without Nix installed: it serves
//! either way and says once which runtime it chose and why.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pilot_core::testing::{ensure_component, setup_script};

use crate::support::processes::*;

/// `pilot up <python-hello>` in `cwd` on free ports with the default
/// runtime, `PATH` set to `path`; returns it once it says it serves, with
/// what it printed.
fn up_with_path(cwd: &Path, path: &OsString) -> (Proc, String) {
    let home = cwd.join("home");
    let mut command = Command::new(pilot_bin());
    command
        .current_dir(cwd)
        .arg("up")
        .arg(python_hello())
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--agent-listen", &format!("127.0.0.1:{}", free_port())])
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", &home);
    let up = Proc::spawn("pilot-up", command);
    let printed = up.wait_for("Ctrl-C stops it", Duration::from_secs(90));
    (up, printed)
}

/// The app's answer at the `app:` URL `pilot up` printed.
fn app_answer(printed: &str) -> String {
    let app = printed
        .lines()
        .find_map(|l| l.strip_prefix("app:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no app URL in:\n{printed}"))
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    http_get(&app, "/")
        .map(|(_, body)| body)
        .unwrap_or_else(|e| format!("(no answer: {e})"))
}

/// A directory of links to every program on `PATH` except Nix's.
fn path_without_nix(dir: &Path) -> OsString {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for entry in std::env::split_paths(&path)
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
    {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("nix") || bin.join(&name).exists() {
            continue;
        }
        let _ = std::os::unix::fs::symlink(entry.path(), bin.join(&name));
    }
    bin.into_os_string()
}

#[test]
fn the_run_command_serves_without_nix_and_says_why_it_uses_the_host() {
    let cwd = tempfile::tempdir().unwrap();
    let path = path_without_nix(cwd.path());
    let (mut up, printed) = up_with_path(cwd.path(), &path);
    assert!(
        app_answer(&printed).contains("hello from python-hello v1"),
        "{printed}"
    );
    let runtime: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("runtime:"))
        .collect();
    assert_eq!(runtime.len(), 1, "one runtime line:\n{printed}");
    assert!(
        runtime[0].contains("host (auto: nix is not installed"),
        "{}",
        runtime[0]
    );
    up.stop(Duration::from_secs(30));
}

#[test]
fn the_run_command_serves_with_nix_but_without_its_nixpkgs() {
    let nix_runs = || {
        Command::new("nix")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ensure_component("Nix", &setup_script("nix.sh"), nix_runs) {
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let (mut up, printed) = up_with_path(cwd.path(), &path);
    let runtime: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("runtime:"))
        .collect();
    assert_eq!(runtime.len(), 1, "one runtime line:\n{printed}");
    // Machines with the pinned nixpkgs (or GitHub) build with Nix; these
    // test machines have neither, and must fall back with the reason.
    if runtime[0].starts_with("runtime: nix") {
        assert!(runtime[0].contains("auto: "), "{}", runtime[0]);
    } else {
        assert!(
            runtime[0].contains("is not in the Nix store"),
            "{}",
            runtime[0]
        );
        assert!(runtime[0].contains("--runtime nix"), "{}", runtime[0]);
    }
    assert!(
        app_answer(&printed).contains("hello from python-hello v1"),
        "{printed}"
    );
    assert!(
        !up.text().contains("error: "),
        "Nix errors were printed:\n{}",
        up.text()
    );
    up.stop(Duration::from_secs(30));
}

#[test]
fn pilot_up_serves_an_app_directory_within_a_minute() {
    let cwd = tempfile::tempdir().unwrap();
    let home = cwd.path().join("home");
    let (api_port, agent_port) = (free_port(), free_port());
    let api = format!("127.0.0.1:{api_port}");
    let started = Instant::now();
    let mut command = Command::new(pilot_bin());
    command
        .current_dir(cwd.path())
        .arg("up")
        .arg(python_hello())
        .args([
            "--listen",
            &api,
            "--agent-listen",
            &format!("127.0.0.1:{agent_port}"),
        ])
        .args(["--runtime", "host"])
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", &home)
        .env_remove("PILOT_ADMIN_PASSWORD");
    let mut up = Proc::spawn("pilot-up", command);
    let printed = up.wait_for("Ctrl-C stops it", Duration::from_secs(60));
    let app_url = printed
        .lines()
        .find_map(|l| l.strip_prefix("app:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no app URL in:\n{printed}"))
        .to_string();
    let app = app_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let (status, body) = http_get(&app, "/").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("hello from python-hello v1"), "{body}");
    let (status, health) = http_get(&api, "/health").unwrap();
    assert_eq!(status, 200, "{health}");
    let (status, page) = http_get(&api, "/login").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Sign in"), "{page}");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(60),
        "pilot up took {elapsed:?} to serve the app"
    );
    assert!(
        printed.contains("admin password (shown once):"),
        "{printed}"
    );
    assert!(cwd.path().join("pilot-data/pilot.db").exists());

    // The CLI now talks to this server without a login.
    let status = pilot_json(&home, &["status"]);
    assert!(status.to_string().contains("python-hello"), "{status}");

    // A clean stop takes the app down with it.
    up.stop(Duration::from_secs(30));
    assert!(up.text().contains("shutting down"), "{}", up.text());
    assert!(
        http_get(&app, "/").is_err(),
        "the app still answers after pilot up ended"
    );
}
