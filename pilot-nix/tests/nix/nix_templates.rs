//! Every template type, with series and with exact pins, against real Nix
//! and the stub: the flake parses, shows its outputs, evaluates to the
//! config's values, its dev shell holds the requested runtimes, and its
//! package starts the app on `$PORT`.

use crate::support::NixTestbed;
use pilot_nix::{Catalog, render_flake};
use serde_json::{Value, json};

/// One type with one set of runtimes, and what the dev shell must print.
struct Case {
    app_type: &'static str,
    runtime: Value,
    /// (shell command, text its output must contain)
    checks: Vec<(&'static str, String)>,
}

fn check_case(bed: &NixTestbed, label: &str, case: Case) {
    let config = pilot_core::config::parse(
        &json!({
            "name": format!("{} app", case.app_type),
            "type": case.app_type,
            "runtime": case.runtime,
            "build": {"commands": ["echo building"]},
            "start": {"command": "echo \"started on $PORT with $GREETING\""},
            "env": {"GREETING": "hi"}
        })
        .to_string(),
    )
    .unwrap();
    let flake = render_flake(&config, Catalog::builtin()).unwrap();
    let dir = bed.scratch(label);
    std::fs::write(dir.join("flake.nix"), &flake.text).unwrap();

    let (ok, err) = bed.parse(&dir.join("flake.nix"));
    assert!(ok, "{label}: parse: {err}");

    let (ok, out, err) = bed.nix(&["flake", "show", "--json"], &dir, "");
    assert!(ok, "{label}: flake show: {err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    let system = &bed.options.system;
    for output in ["devShells", "packages", "apps"] {
        assert!(
            shown[output][system]["default"].is_object(),
            "{label}: {output}.{system}.default missing in {out}"
        );
    }

    let (ok, out, err) = bed.nix(&["eval", "--json"], &dir, "pilot");
    assert!(ok, "{label}: eval: {err}");
    let pilot: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(pilot["name"], json!(config.name));
    assert_eq!(pilot["type"], json!(case.app_type));
    assert_eq!(pilot["build"], json!(["echo building"]));
    assert_eq!(pilot["start"], json!(config.start.command));
    assert_eq!(pilot["env"], json!({"GREETING": "hi"}));

    let script = case
        .checks
        .iter()
        .map(|(command, _)| *command)
        .collect::<Vec<_>>()
        .join("; ");
    let (ok, out, err) = bed.nix(
        &["develop", "--", "--command", "sh", "-c", &script],
        &dir,
        "",
    );
    assert!(ok, "{label}: develop: {err}");
    for (command, expected) in &case.checks {
        assert!(
            out.contains(expected.as_str()),
            "{label}: `{command}` should print {expected:?}; the dev shell printed {out:?}"
        );
    }

    let link = dir.join("result");
    let (ok, _, err) = bed.nix(&["build", "--out-link", link.to_str().unwrap()], &dir, "");
    assert!(ok, "{label}: build: {err}");
    let launcher = link
        .join("bin")
        .join(pilot_nix::flake::script_name(&config.name));
    let run = std::process::Command::new(&launcher)
        .env("PORT", "4321")
        .env_remove("GREETING")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "started on 4321 with hi\n",
        "{label}: launcher {}",
        launcher.display()
    );
    let unset = std::process::Command::new(&launcher)
        .env_remove("PORT")
        .output()
        .unwrap();
    assert!(
        !unset.status.success(),
        "{label}: the launcher must insist on $PORT"
    );
}

fn both(bed: &NixTestbed, app_type: &'static str, series: Case, exact: Case) {
    assert_eq!(series.app_type, app_type);
    check_case(bed, &format!("{app_type}-series"), series);
    check_case(bed, &format!("{app_type}-exact"), exact);
}

fn case(app_type: &'static str, runtime: Value, checks: Vec<(&'static str, String)>) -> Case {
    Case {
        app_type,
        runtime,
        checks,
    }
}

#[test]
fn laravel() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let node = bed.versions.of("nodejs_20").to_string();
    both(
        &bed,
        "laravel",
        case(
            "laravel",
            json!({"php": "8.2", "node": "20"}),
            vec![
                ("php --version", "PHP 8.2.23".into()),
                ("composer --version", "composer".into()),
                ("node --version", format!("v{node}")),
            ],
        ),
        case(
            "laravel",
            json!({"php": "8.2.14", "node": node}),
            vec![
                ("php --version", "PHP 8.2.14".into()),
                ("node --version", format!("v{node}")),
            ],
        ),
    );
}

#[test]
fn nodejs() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let node = bed.versions.of("nodejs_20").to_string();
    both(
        &bed,
        "nodejs",
        case(
            "nodejs",
            json!({"node": "20"}),
            vec![("node --version", format!("v{node}"))],
        ),
        case(
            "nodejs",
            json!({"node": node}),
            vec![("node --version", format!("v{node}"))],
        ),
    );
}

#[test]
fn go() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    both(
        &bed,
        "go",
        case(
            "go",
            json!({"go": "1.22"}),
            vec![("go version", "go1.22.7".into())],
        ),
        case(
            "go",
            json!({"go": "1.22.7"}),
            vec![("go version", "go1.22.7".into())],
        ),
    );
}

#[test]
fn python() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let python = bed.versions.of("python311").to_string();
    both(
        &bed,
        "python",
        case(
            "python",
            json!({"python": "3.11"}),
            vec![
                ("python3 --version", format!("Python {python}")),
                ("pip --version", "pip".into()),
            ],
        ),
        case(
            "python",
            json!({"python": python}),
            vec![("python3 --version", format!("Python {python}"))],
        ),
    );
}

#[test]
fn django() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    both(
        &bed,
        "django",
        case(
            "django",
            json!({"python": "3.12"}),
            vec![
                ("python3 --version", "Python 3.12.5".into()),
                ("pip --version", "pip".into()),
            ],
        ),
        case(
            "django",
            json!({"python": "3.12.1"}),
            vec![("python3 --version", "Python 3.12.1".into())],
        ),
    );
}

#[test]
fn static_site() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    both(
        &bed,
        "static",
        case(
            "static",
            json!({"node": "22"}),
            vec![("node --version", "v22.8.0".into())],
        ),
        case(
            "static",
            json!({"node": "22.8.0"}),
            vec![("node --version", "v22.8.0".into())],
        ),
    );
    check_case(
        &bed,
        "static-bare",
        case("static", json!({}), vec![("echo ready", "ready".into())]),
    );
}

#[test]
fn ruby() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    both(
        &bed,
        "ruby",
        case(
            "ruby",
            json!({"ruby": "3.3"}),
            vec![("ruby --version", "ruby 3.3.5".into())],
        ),
        case(
            "ruby",
            json!({"ruby": "3.2.2"}),
            vec![("ruby --version", "ruby 3.2.2".into())],
        ),
    );
}
