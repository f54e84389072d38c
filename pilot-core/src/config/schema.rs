//! The JSON Schema of `config.vpspilot.json`, generated from the model, for
//! editors and for tools that check configs before they reach Pilot.
//!
//! The schema describes the structure, the enums and the ranges; a few rules
//! that need code (placeholder typos, the runtime each type needs, both
//! health check forms at once) are checked only by [`super::parse`].

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::model::{AppConfig, Language, Strategy};
use super::versions::{exact_version_example, supported_versions, version_pattern};

/// The JSON Schema (draft 2020-12) of `config.vpspilot.json`.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(AppConfig).to_value()
}

/// The schema of one `runtime` entry: the catalog's versions as a pattern.
fn version_schema(lang: Language) -> Schema {
    let mut examples: Vec<&str> = supported_versions(lang).to_vec();
    examples.push(exact_version_example(lang));
    json_schema!({
        "type": ["string", "null"],
        "pattern": version_pattern(lang),
        "examples": examples,
    })
}

/// Schema of `runtime.node`.
pub(crate) fn node_version(_: &mut SchemaGenerator) -> Schema {
    version_schema(Language::Node)
}

/// Schema of `runtime.php`.
pub(crate) fn php_version(_: &mut SchemaGenerator) -> Schema {
    version_schema(Language::Php)
}

/// Schema of `runtime.python`.
pub(crate) fn python_version(_: &mut SchemaGenerator) -> Schema {
    version_schema(Language::Python)
}

/// Schema of `runtime.go`.
pub(crate) fn go_version(_: &mut SchemaGenerator) -> Schema {
    version_schema(Language::Go)
}

/// Schema of `runtime.ruby`.
pub(crate) fn ruby_version(_: &mut SchemaGenerator) -> Schema {
    version_schema(Language::Ruby)
}

/// Written by hand so that the alias `"rolling"` is part of the schema.
impl JsonSchema for Strategy {
    fn schema_name() -> Cow<'static, str> {
        "Strategy".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "How a new release replaces the live one.",
            "oneOf": [
                {
                    "description": "Start the new release beside the live one, switch traffic when healthy (zero downtime).",
                    "type": "string",
                    "const": "blue-green"
                },
                {
                    "description": "Stop the live release, then start the new one on the same port (brief downtime, half the memory).",
                    "type": "string",
                    "const": "in-place"
                },
                {
                    "description": "Another name of \"in-place\".",
                    "type": "string",
                    "const": "rolling"
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::{commands, deployment, resources, validate};
    use super::*;

    /// The properties of the object schema at `pointer`, following one `$ref`.
    fn properties(schema: &Value, pointer: &str) -> Vec<String> {
        let mut node = schema.pointer(pointer).expect("pointer exists");
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            node = schema
                .pointer(reference.trim_start_matches('#'))
                .expect("reference resolves");
        }
        let mut names: Vec<String> = node["properties"]
            .as_object()
            .expect("object schema")
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn validators_know_exactly_the_fields_of_the_model() {
        let schema = json_schema();
        assert_eq!(properties(&schema, ""), sorted(validate::ROOT_FIELDS));
        for (section, fields) in [
            ("runtime", validate::RUNTIME_FIELDS),
            ("nix", validate::NIX_FIELDS),
            ("build", commands::BUILD_FIELDS),
            ("start", commands::COMMAND_FIELDS),
            ("deployment", deployment::DEPLOYMENT_FIELDS),
            ("resources", resources::RESOURCES_FIELDS),
        ] {
            let pointer = format!("/properties/{section}");
            let node = &schema.pointer(&pointer).expect("section exists");
            // Optional sections are `anyOf: [{$ref}, {null}]`.
            let pointer = if node.get("anyOf").is_some() {
                format!("{pointer}/anyOf/0")
            } else {
                pointer
            };
            assert_eq!(properties(&schema, &pointer), sorted(fields), "{section}");
        }
        let languages: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(languages, validate::RUNTIME_FIELDS);
    }

    #[test]
    fn the_schema_carries_enums_ranges_and_required_fields() {
        let schema = json_schema();
        assert_eq!(
            schema["required"],
            serde_json::json!(["name", "type", "start"])
        );
        assert_eq!(schema["properties"]["port"]["minimum"], 1);
        assert_eq!(schema["properties"]["port"]["maximum"], 65535);
        let types: Vec<&str> = schema["$defs"]["AppType"]["oneOf"]
            .as_array()
            .expect("app type variants")
            .iter()
            .filter_map(|v| v["const"].as_str())
            .collect();
        assert_eq!(types.len(), 8);
        let strategies = schema["$defs"]["Strategy"]["oneOf"].to_string();
        assert!(strategies.contains("\"rolling\""));
    }

    #[test]
    fn version_patterns_follow_the_catalog() {
        assert_eq!(
            version_pattern(Language::Node),
            "^(18((\\.(0|[1-9][0-9]*)){2})?|20((\\.(0|[1-9][0-9]*)){2})?|22((\\.(0|[1-9][0-9]*)){2})?)$"
        );
        assert!(version_pattern(Language::Php).starts_with("^(8\\.1((\\.(0|[1-9][0-9]*)){1})?|"));
    }
}
