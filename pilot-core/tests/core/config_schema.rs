//! The checked-in JSON Schema matches the model, and the example configs fit it.
//!
//! After changing the model, regenerate the file with
//! `PILOT_UPDATE_SCHEMA=1 cargo test -p pilot-core --test core config_schema`.

use std::path::{Path, PathBuf};

use pilot_core::config::{self, AppType};
use serde_json::{Value, json};

fn schema_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/config.vpspilot.schema.json")
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&config::json_schema()).expect("serialize schema");
    text.push('\n');
    text
}

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let file = schema_file();
    let expected = generated();
    if std::env::var("PILOT_UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::create_dir_all(file.parent().expect("schema dir")).expect("create schema dir");
        std::fs::write(&file, &expected).expect("write schema");
    }
    let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        on_disk == expected,
        "{} is not the schema of the model; regenerate it with \
         PILOT_UPDATE_SCHEMA=1 cargo test -p pilot-core --test core config_schema",
        file.display()
    );
}

/// Structural errors of `value` against `schema` (a subset of JSON Schema:
/// `$ref`, `type`, `properties`, `required`, `additionalProperties`, `items`,
/// `enum`, `const`, `oneOf`, `anyOf`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `minLength`, `maxLength`).
fn violations(root: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = root
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved {reference}"));
        found.extend(violations(root, target, value, path));
    }
    for (key, any) in [("oneOf", false), ("anyOf", true)] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let matching = options
                .iter()
                .filter(|option| violations(root, option, value, path).is_empty())
                .count();
            if matching == 0 || (!any && matching > 1) {
                found.push(format!("{path}: {matching} of {key} match"));
            }
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| fits(t)) {
            found.push(format!("{path}: not of type {types:?}"));
        }
    }
    if let Some(constant) = schema.get("const").filter(|c| *c != value) {
        found.push(format!("{path}: not {constant}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        found.push(format!("{path}: not one of {allowed:?}"));
    }
    if let Some(n) = value.as_f64() {
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        if bound("minimum").is_some_and(|m| n < m)
            || bound("maximum").is_some_and(|m| n > m)
            || bound("exclusiveMinimum").is_some_and(|m| n <= m)
        {
            found.push(format!("{path}: {n} out of range"));
        }
    }
    if let Some(s) = value.as_str() {
        let length = s.chars().count() as u64;
        let bound = |key: &str| schema.get(key).and_then(Value::as_u64);
        if bound("minLength").is_some_and(|m| length < m)
            || bound("maxLength").is_some_and(|m| length > m)
        {
            found.push(format!("{path}: length {length} out of range"));
        }
    }
    if let (Some(items), Some(elements)) = (schema.get("items"), value.as_array()) {
        for (i, element) in elements.iter().enumerate() {
            found.extend(violations(root, items, element, &format!("{path}[{i}]")));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(required.as_str().unwrap_or_default()) {
                found.push(format!("{path}: missing {required}"));
            }
        }
        for (key, member) in object {
            let child = format!("{path}/{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(property), _) => found.extend(violations(root, property, member, &child)),
                (None, Some(Value::Bool(false))) => found.push(format!("{child}: not allowed")),
                (None, Some(extra @ Value::Object(_))) => {
                    found.extend(violations(root, extra, member, &child));
                }
                _ => {}
            }
        }
    }
    found
}

/// Example apps of the repository, if any, and the built-in examples.
fn example_configs() -> Vec<(String, String)> {
    let mut configs: Vec<(String, String)> = AppType::ALL
        .iter()
        .map(|t| {
            (
                format!("built-in {t} example"),
                config::examples::example(*t).to_string(),
            )
        })
        .collect();
    let apps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps");
    for entry in std::fs::read_dir(&apps).into_iter().flatten().flatten() {
        let file = entry.path().join(config::CONFIG_FILE_NAME);
        if let Ok(text) = std::fs::read_to_string(&file) {
            configs.push((file.display().to_string(), text));
        }
    }
    configs
}

#[test]
fn the_example_configs_fit_the_schema_and_parse() {
    let schema = config::json_schema();
    for (name, text) in example_configs() {
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let found = violations(&schema, &schema, &value, "");
        assert!(
            found.is_empty(),
            "{name} does not fit the schema: {found:?}"
        );
        let parsed = config::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let reparsed = serde_json::to_value(&parsed).expect("serialize");
        let found = violations(&schema, &schema, &reparsed, "");
        assert!(
            found.is_empty(),
            "{name} with defaults does not fit the schema: {found:?}"
        );
    }
}

#[test]
fn the_schema_rejects_what_the_parser_rejects_structurally() {
    let schema = config::json_schema();
    let base = json!({"name": "a", "type": "nodejs", "runtime": {"node": "20"},
        "start": {"command": "node s.js"}});
    assert!(violations(&schema, &schema, &base, "").is_empty());
    for (pointer, bad) in [
        ("/bulid", json!({})),
        ("/type", json!("node")),
        ("/port", json!(0)),
        ("/port", json!("8080")),
        ("/name", json!("")),
        ("/deployment", json!({"strategy": "fast"})),
        ("/deployment", json!({"healthcheck_timeout": 301})),
        ("/deployment", json!({"healthcheck_retries": 0})),
        ("/resources", json!({"cpu": 0})),
        ("/build", json!({"commands": [""]})),
        ("/runtime", json!({"node": 20})),
        ("/start", json!({})),
    ] {
        let mut value = base.clone();
        value[pointer.trim_start_matches('/')] = bad.clone();
        assert!(
            !violations(&schema, &schema, &value, "").is_empty(),
            "the schema accepts {pointer} = {bad}"
        );
        assert!(
            config::parse(&value.to_string()).is_err(),
            "parse accepts {pointer} = {bad}"
        );
    }
    let mut rolling = base.clone();
    rolling["deployment"] = json!({"strategy": "rolling"});
    assert!(violations(&schema, &schema, &rolling, "").is_empty());
}
