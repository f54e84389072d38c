//! `pilot up APP_DIR` from a clean directory: a server and a local agent in
//! one process; the app answers through the built-in proxy and the API
//! and sign-in page answer, within a minute.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::processes::*;

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
