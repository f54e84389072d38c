//! Valid configs: the documented examples parse, defaults are filled in, and
//! a config survives serializing and parsing again.

use std::collections::BTreeMap;
use std::time::Duration;

use pilot_core::config::{
    self, AppConfig, AppType, BuildSection, DeploymentSection, HealthCheckKind, Language,
    NixSection, Resources, Runtimes, StartSection, Strategy as Rollout, TestSection,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The complete configs of the design documents, verbatim.
const SEED_CONFIGS: [&str; 2] = [
    r#"{
  "name": "My App",
  "type": "laravel",
  "runtime": { "php": "8.2", "node": "20" },
  "build": { "commands": ["composer install", "npm run build"] },
  "start": { "command": "php artisan serve" }
}"#,
    r#"{
  "name": "My Laravel App",
  "type": "laravel",
  "runtime": {
    "php": "8.2",
    "node": "20"
  },
  "build": {
    "commands": [
      "composer install --no-dev",
      "npm install",
      "npm run build"
    ]
  },
  "start": {
    "command": "php artisan serve --host=0.0.0.0 --port=$PORT"
  }
}"#,
];

/// The fragments of the design documents (one per template, env, health checks).
const SEED_FRAGMENTS: [&str; 10] = [
    r#"{ "type": "laravel", "runtime": { "php": "8.2", "node": "20" } }"#,
    r#"{ "type": "nodejs", "runtime": { "node": "20" } }"#,
    r#"{ "type": "go", "runtime": { "go": "1.21" } }"#,
    r#"{ "type": "python", "runtime": { "python": "3.11" } }"#,
    r#"{ "type": "django", "runtime": { "python": "3.11" } }"#,
    r#"{ "type": "static", "runtime": { "node": "20" } }"#,
    r#"{ "type": "ruby", "runtime": { "ruby": "3.2" } }"#,
    r#"{ "type": "custom", "nix": { "flake_file": "./flake.nix" } }"#,
    r#"{
  "env": {
    "APP_ENV": "production",
    "DB_PASSWORD": "{{DB_PASSWORD}}",
    "API_KEY": "{{API_KEY}}"
  }
}"#,
    r#"{
  "deployment": {
    "healthcheck_url": "http://localhost:3000/health",
    "healthcheck_interval": 10,
    "healthcheck_timeout": 5,
    "healthcheck_retries": 3
  }
}"#,
];

/// `fragment` completed with the fields every config needs.
fn completed(fragment: &str) -> String {
    let mut config = json!({
        "name": "app",
        "type": "nodejs",
        "runtime": {"node": "20"},
        "start": {"command": "node server.js"}
    });
    let fragment: Value = serde_json::from_str(fragment).expect("fragment is JSON");
    for (key, value) in fragment.as_object().expect("fragment is an object") {
        config[key] = value.clone();
    }
    config.to_string()
}

fn parse(text: &str) -> AppConfig {
    config::parse(text).unwrap_or_else(|e| panic!("{text}\nrejected: {e}"))
}

#[test]
fn the_documented_configs_parse() {
    for text in SEED_CONFIGS {
        let config = parse(text);
        assert_eq!(config.app_type, AppType::Laravel);
        assert_eq!(
            config.runtime.requested(),
            [(Language::Node, "20"), (Language::Php, "8.2")]
        );
    }
    let config = parse(SEED_CONFIGS[1]);
    assert_eq!(config.build.commands.len(), 3);
    assert_eq!(
        config.start.command,
        "php artisan serve --host=0.0.0.0 --port=$PORT"
    );
}

#[test]
fn the_documented_fragments_parse_once_completed() {
    let configs: Vec<AppConfig> = SEED_FRAGMENTS
        .iter()
        .map(|f| parse(&completed(f)))
        .collect();
    let types: Vec<AppType> = configs[..8].iter().map(|c| c.app_type).collect();
    assert_eq!(types, AppType::ALL);
    assert_eq!(
        configs[7]
            .nix
            .as_ref()
            .and_then(|n| n.flake_file.as_deref()),
        Some("./flake.nix")
    );
    let secrets: Vec<String> = configs[8].secret_names().into_iter().collect();
    assert_eq!(secrets, ["API_KEY", "DB_PASSWORD"]);
    let deployment = &configs[9].deployment;
    assert_eq!(deployment.health_path(), "/health");
    assert_eq!(deployment.interval(), Duration::from_secs(10));
    assert_eq!(deployment.timeout(), Duration::from_secs(5));
    assert_eq!(deployment.healthcheck_retries, 3);
}

#[test]
fn the_built_in_examples_parse() {
    for app_type in AppType::ALL {
        assert_eq!(
            parse(config::examples::example(app_type)).app_type,
            app_type
        );
    }
}

#[test]
fn omitted_fields_get_their_defaults() {
    let config = parse(r#"{"name": "site", "type": "static", "start": {"command": "serve"}}"#);
    assert_eq!(config.runtime, Runtimes::default());
    assert!(config.runtime.requested().is_empty());
    assert!(config.build.commands.is_empty());
    assert_eq!(config.test, None);
    assert!(config.env.is_empty());
    assert_eq!(config.nix, None);
    assert_eq!(config.resources, Resources::default());
    assert_eq!(config.resources.memory_bytes(), None);
    assert_eq!(config.port, None);
    let d = &config.deployment;
    assert_eq!(*d, DeploymentSection::default());
    assert_eq!(d.strategy, Rollout::BlueGreen);
    assert_eq!(d.healthcheck_type, HealthCheckKind::Http);
    assert_eq!(d.health_path(), "/");
    assert_eq!(d.interval(), Duration::from_secs(10));
    assert_eq!(d.timeout(), Duration::from_secs(5));
    assert_eq!(d.healthcheck_retries, 3);
    assert_eq!(d.start_period(), Duration::from_secs(60));
    assert_eq!(d.watch(), Duration::from_secs(30));
    assert_eq!(d.drain(), Duration::from_secs(30));
    assert_eq!(d.keep_generations, 5);
    assert!(!d.warm_standby);
}

#[test]
fn partial_sections_keep_the_other_defaults() {
    let config = parse(&completed(
        r#"{"deployment": {"strategy": "rolling", "healthcheck_path": "/up?deep=1",
            "watch_seconds": 0, "drain_seconds": 2.5}, "resources": {"memory": "1.5G", "cpu": 0.5}}"#,
    ));
    let d = &config.deployment;
    assert_eq!(d.strategy, Rollout::InPlace);
    assert_eq!(d.health_path(), "/up?deep=1");
    assert_eq!(d.watch(), Duration::ZERO);
    assert_eq!(d.drain(), Duration::from_millis(2500));
    assert_eq!(d.healthcheck_retries, 3);
    assert_eq!(config.resources.memory_bytes(), Some(3 << 29));
    assert_eq!(config.resources.cpu, Some(0.5));
}

#[test]
fn null_optional_fields_count_as_absent() {
    let config = parse(&completed(
        r#"{"test": null, "nix": null, "port": null, "runtime": {"node": "22", "php": null},
            "resources": {"memory": null, "cpu": null}}"#,
    ));
    assert_eq!(config.test, None);
    assert_eq!(config.port, None);
    assert_eq!(config.runtime.requested(), [(Language::Node, "22")]);
}

#[test]
fn exact_runtime_versions_of_listed_series_are_accepted() {
    let config = parse(&completed(
        r#"{"type": "laravel", "runtime": {"php": "8.3.10", "node": "22.3.0", "python": "3.12.1",
            "go": "1.22.5", "ruby": "3.3.0"}}"#,
    ));
    assert_eq!(config.runtime.php.as_deref(), Some("8.3.10"));
    for lang in Language::ALL {
        for version in config::supported_versions(lang) {
            assert!(config::is_supported_version(lang, version));
        }
    }
}

#[test]
fn secret_names_and_placeholders_agree() {
    let config = parse(&completed(
        r#"{"env": {"URL": "postgres://{{DB_USER}}:{{DB_PASSWORD}}@db/{{DB_NAME}}",
            "JSON": "{\"a\": {\"b\": 1}}", "HOME_DIR": "${HOME}", "USER_AGAIN": "{{DB_USER}}"}}"#,
    ));
    let names: Vec<String> = config.secret_names().into_iter().collect();
    assert_eq!(names, ["DB_NAME", "DB_PASSWORD", "DB_USER"]);
    assert_eq!(
        config::placeholders(&config.env["URL"]),
        ["DB_USER", "DB_PASSWORD", "DB_NAME"]
    );
    assert!(config::placeholders(&config.env["JSON"]).is_empty());
}

fn version(lang: Language) -> impl Strategy<Value = String> {
    let series = config::supported_versions(lang);
    (
        prop::sample::select(series),
        any::<bool>(),
        0u32..40,
        0u32..40,
    )
        .prop_map(
            |(series, exact, a, b)| match (exact, series.split('.').count()) {
                (false, _) => series.to_string(),
                (true, 1) => format!("{series}.{a}.{b}"),
                (true, _) => format!("{series}.{a}"),
            },
        )
}

fn runtimes(app_type: AppType) -> impl Strategy<Value = Runtimes> {
    let needed = app_type.required_language();
    let pick = move |lang: Language| {
        let required = needed == Some(lang);
        (any::<bool>(), version(lang)).prop_map(move |(given, v)| (given || required).then_some(v))
    };
    (
        pick(Language::Node),
        pick(Language::Php),
        pick(Language::Python),
        pick(Language::Go),
        pick(Language::Ruby),
    )
        .prop_map(|(node, php, python, go, ruby)| Runtimes {
            node,
            php,
            python,
            go,
            ruby,
        })
}

fn env() -> impl Strategy<Value = BTreeMap<String, String>> {
    let value = prop_oneof![
        "[a-zA-Z0-9 :/@._-]{0,20}",
        ("[a-z:/]{0,8}", "[A-Za-z_][A-Za-z0-9_]{0,12}", "[a-z/]{0,8}")
            .prop_map(|(a, name, b)| format!("{a}{{{{{name}}}}}{b}")),
    ];
    prop::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,12}", value, 0..5).prop_map(|mut env| {
        env.remove("PORT");
        env
    })
}

fn seconds(range: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = f64> {
    range.prop_map(|hundredths| f64::from(hundredths) / 100.0)
}

fn deployment() -> impl Strategy<Value = DeploymentSection> {
    let target = prop_oneof![
        Just((None, None)),
        Just((Some("http://localhost:3000/health".to_string()), None)),
        Just((None, Some("/healthz?full=1".to_string()))),
    ];
    (
        prop::sample::select(vec![Rollout::BlueGreen, Rollout::InPlace]),
        prop::sample::select(vec![HealthCheckKind::Http, HealthCheckKind::Tcp]),
        target,
        (
            seconds(1..=8_640_000),
            seconds(1..=30_000),
            seconds(1..=8_640_000),
        ),
        (seconds(0..=8_640_000), seconds(0..=8_640_000)),
        (1u32..=20, 1u32..=20, any::<bool>()),
    )
        .prop_map(
            |(
                strategy,
                kind,
                (url, path),
                (interval, timeout, start),
                (watch, drain),
                (retries, keep, warm),
            )| {
                let (url, path) = if kind == HealthCheckKind::Tcp {
                    (None, None)
                } else {
                    (url, path)
                };
                DeploymentSection {
                    strategy,
                    healthcheck_type: kind,
                    healthcheck_url: url,
                    healthcheck_path: path,
                    healthcheck_interval: interval,
                    healthcheck_timeout: timeout,
                    healthcheck_retries: retries,
                    healthcheck_start_period: start,
                    watch_seconds: watch,
                    drain_seconds: drain,
                    keep_generations: keep,
                    warm_standby: warm,
                }
            },
        )
}

fn resources() -> impl Strategy<Value = Resources> {
    let memory = prop::sample::select(vec!["512M", "1G", "256MiB", "1.5G", "2GB", "1048576", "4t"]);
    (
        prop::option::of(memory.prop_map(str::to_string)),
        prop::option::of((1u32..=4096).prop_map(|quarters| f64::from(quarters) / 4.0)),
    )
        .prop_map(|(memory, cpu)| Resources { memory, cpu })
}

fn app_config() -> impl Strategy<Value = AppConfig> {
    prop::sample::select(AppType::ALL.to_vec()).prop_flat_map(|app_type| {
        (
            ("[A-Za-z0-9][A-Za-z0-9 _.-]{0,40}", runtimes(app_type)),
            prop::collection::vec("[a-z][a-z0-9 ./-]{0,20}", 0..4),
            (
                "[a-z][a-z0-9 ./$-]{0,30}",
                prop::option::of("[a-z][a-z ]{0,10}"),
            ),
            env(),
            prop::sample::select(vec!["./flake.nix", "flake.nix", "nix/flake.nix"]),
            deployment(),
            resources(),
            prop::option::of(1u16..=65535),
        )
            .prop_map(
                move |(
                    (name, runtime),
                    commands,
                    (start, test),
                    env,
                    flake,
                    deployment,
                    resources,
                    port,
                )| {
                    AppConfig {
                        name,
                        app_type,
                        runtime,
                        build: BuildSection { commands },
                        start: StartSection { command: start },
                        test: test.map(|command| TestSection { command }),
                        env,
                        nix: (app_type == AppType::Custom).then(|| NixSection {
                            flake_file: Some(flake.to_string()),
                        }),
                        deployment,
                        resources,
                        port,
                    }
                },
            )
    })
}

proptest! {
    #[test]
    fn a_valid_config_survives_serializing_and_parsing(config in app_config()) {
        let pretty = serde_json::to_string_pretty(&config).expect("serialize");
        let parsed = config::parse(&pretty);
        prop_assert!(parsed.is_ok(), "{pretty}\n{:?}", parsed.err().map(|e| e.to_string()));
        prop_assert_eq!(parsed.ok(), Some(config.clone()));
        let compact = serde_json::to_string(&config).expect("serialize");
        prop_assert_eq!(config::parse(&compact).ok(), Some(config.clone()));
        let from_env: Vec<String> = config.env.values().flat_map(|v| config::placeholders(v)).collect();
        prop_assert!(from_env.iter().all(|name| config.secret_names().contains(name)));
    }
}
