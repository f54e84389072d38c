//! No config value can inject Nix (or shell) code: hostile names, commands
//! and env values produce flakes that parse and evaluate to exactly the
//! given strings, and the launcher exports them unchanged.

use crate::support::NixTestbed;
use pilot_nix::escape::nix_string;
use pilot_nix::{Catalog, render_flake};
use proptest::prelude::*;
use serde_json::{Value, json};

const HOSTILE: &[&str] = &[
    "quote \" inside",
    "${builtins.abort \"x\"}",
    "$${builtins.abort \"x\"}",
    "\\${builtins.abort \"x\"}",
    "back\\slash\\",
    "line one\nline two\r\n\ttab",
    "'' ''${builtins.abort \"x\"} ''",
    "a'b $(echo injected) `echo injected` ; exit 7",
    "\"; }; evil = builtins.abort \"x\"; x = {",
    "$",
    "${",
    "trailing $",
    "unicode ✓ é 日本",
];

#[test]
fn hostile_values_evaluate_to_exactly_themselves() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let env: serde_json::Map<String, Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("VAR_{i}"), json!(v)))
        .collect();
    let name = "App \"${builtins.abort \"name\"}\" \\ name";
    let config = pilot_core::config::parse(
        &json!({
            "name": name,
            "type": "python",
            "runtime": {"python": "3.11"},
            "build": {"commands": HOSTILE},
            "test": {"command": HOSTILE[1]},
            "start": {"command": "printf '%s' \"$VAR_7\""},
            "env": env,
        })
        .to_string(),
    )
    .unwrap();
    let flake = render_flake(&config, Catalog::builtin()).unwrap();
    let dir = bed.scratch("hostile");
    std::fs::write(dir.join("flake.nix"), &flake.text).unwrap();
    let (ok, err) = bed.parse(&dir.join("flake.nix"));
    assert!(ok, "parse: {err}");

    let (ok, out, err) = bed.nix(&["eval", "--json"], &dir, "pilot");
    assert!(ok, "eval: {err}");
    let pilot: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(pilot["name"], json!(name));
    assert_eq!(pilot["build"], json!(HOSTILE));
    assert_eq!(pilot["test"], json!(HOSTILE[1]));
    assert_eq!(pilot["env"], Value::Object(env.clone()));

    let shell = format!("devShells.{}.default.name", bed.options.system);
    let (ok, out, err) = bed.nix(&["eval", "--raw"], &dir, &shell);
    assert!(ok, "shell name: {err}");
    assert_eq!(out, "app-builtins-abort-name-name-shell");

    // The launcher exports every value unchanged and runs the start command.
    let link = dir.join("result");
    let (ok, _, err) = bed.nix(&["build", "--out-link", link.to_str().unwrap()], &dir, "");
    assert!(ok, "build: {err}");
    let launcher = link.join("bin").join(pilot_nix::flake::script_name(name));
    let run = std::process::Command::new(&launcher)
        .env("PORT", "1")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), HOSTILE[7]);
}

fn nasty_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("$".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\\".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("\n".to_string()),
            Just("\r".to_string()),
            Just("\t".to_string()),
            Just("${".to_string()),
            Just("''".to_string()),
            "[a-z ]{1,3}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
    .prop_filter("Nix strings cannot hold NUL", |s| !s.contains('\0'))
}

#[test]
fn random_strings_round_trip_through_real_nix() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 8,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(nasty_string(), 32), |values| {
            let expr = format!(
                "[ {} ]",
                values
                    .iter()
                    .map(|v| nix_string(v))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let out = std::process::Command::new("nix")
                .env("NIX_CONFIG", bed.options.nix_config())
                .args(["eval", "--json", "--expr", &expr])
                .output()
                .unwrap();
            prop_assert!(
                out.status.success(),
                "{expr}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let back: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
            prop_assert_eq!(back, values);
            Ok(())
        })
        .unwrap();
}

proptest! {
    /// Without Nix: every `${` of the output is escaped, and every quote
    /// inside is preceded by a backslash, so the literal ends only at its end.
    #[test]
    fn literals_never_open_an_interpolation(value in nasty_string()) {
        let literal = nix_string(&value);
        let body = &literal[1..literal.len() - 1];
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => prop_assert!(false, "unescaped quote in {literal}"),
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    prop_assert!(false, "interpolation in {literal}")
                }
                _ => i += 1,
            }
        }
    }
}
