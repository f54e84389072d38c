//! Snapshots of the generated flake of every template type, with series and
//! with exact patch pins.

use pilot_nix::{Catalog, Error, render_flake};
use serde_json::{Value, json};

fn render(app_type: &str, runtime: Value, extra: Value) -> String {
    let mut config = json!({
        "name": format!("Demo {app_type}"),
        "type": app_type,
        "runtime": runtime,
        "start": {"command": "exec ./start --port \"$PORT\""},
    });
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        config.extend(extra.clone());
    }
    let config = pilot_core::config::parse(&config.to_string()).unwrap();
    render_flake(&config, Catalog::builtin()).unwrap().text
}

macro_rules! snapshot {
    ($name:ident, $type:literal, $runtime:tt, $extra:tt) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(render($type, json!($runtime), json!($extra)));
        }
    };
}

snapshot!(laravel_series, "laravel", {"php": "8.2", "node": "20"}, {
    "build": {"commands": ["composer install --no-dev", "npm ci", "npm run build"]},
    "env": {"APP_ENV": "production", "DB_PASSWORD": "{{DB_PASSWORD}}"}
});
snapshot!(laravel_exact, "laravel", {"php": "8.2.14", "node": "20.11.1"}, {});
snapshot!(nodejs_series, "nodejs", {"node": "22"}, {"test": {"command": "npm test"}});
snapshot!(nodejs_exact, "nodejs", {"node": "20.11.1"}, {});
snapshot!(go_series, "go", {"go": "1.23"}, {"build": {"commands": ["go build -o app ."]}});
snapshot!(go_exact, "go", {"go": "1.22.5"}, {});
snapshot!(python_series, "python", {"python": "3.11"}, {});
snapshot!(python_exact, "python", {"python": "3.11.7"}, {});
snapshot!(django_series, "django", {"python": "3.12"}, {
    "build": {"commands": ["python -m venv .venv", ".venv/bin/pip install -r requirements.txt"]}
});
snapshot!(django_exact, "django", {"python": "3.12.1", "node": "20"}, {});
snapshot!(static_series, "static", {"node": "20"}, {"build": {"commands": ["npm run build"]}});
snapshot!(static_bare, "static", {}, {});
snapshot!(ruby_series, "ruby", {"ruby": "3.3"}, {});
snapshot!(ruby_exact, "ruby", {"ruby": "3.2.2"}, {});

#[test]
fn custom_apps_have_no_template() {
    let config = pilot_core::config::parse(
        r#"{"name": "c", "type": "custom", "nix": {"flake_file": "./flake.nix"},
            "start": {"command": "run"}}"#,
    )
    .unwrap();
    let err = render_flake(&config, Catalog::builtin()).unwrap_err();
    assert!(matches!(err, Error::NoTemplate), "{err}");
}

#[test]
fn a_type_without_its_runtime_is_refused() {
    let mut config = pilot_core::config::parse(
        r#"{"name": "p", "type": "python", "runtime": {"python": "3.11"}, "start": {"command": "x"}}"#,
    )
    .unwrap();
    config.runtime.python = None;
    let err = render_flake(&config, Catalog::builtin())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "a python app needs `runtime.python`; add e.g. \"python\": \"3.12\""
    );
}

#[test]
fn unsupported_versions_are_refused_with_the_supported_list() {
    let mut config = pilot_core::config::parse(
        r#"{"name": "p", "type": "go", "runtime": {"go": "1.22"}, "start": {"command": "x"}}"#,
    )
    .unwrap();
    config.runtime.go = Some("1.19".into());
    let err = render_flake(&config, Catalog::builtin())
        .unwrap_err()
        .to_string();
    assert!(err.contains("go 1.19 is not supported"), "{err}");
    assert!(err.contains("\"1.21\", \"1.22\", \"1.23\""), "{err}");
}
