//! `NixRuntime` and `FlakeBuilder` against real Nix and the stub: the dev
//! shell is realised once and commands run with its environment; packages
//! are built with streamed logs and GC roots; bad input gives short errors
//! naming the cause.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::NixTestbed;
use pilot_core::builder::BuildContext;
use pilot_core::command::run_shell;
use pilot_core::config::AppConfig;
use pilot_core::output::MemorySink;
use pilot_core::redact::Redactor;
use pilot_core::{Builder, Runtime, Toolchain};
use pilot_nix::catalog::BUILTIN_TOML;
use pilot_nix::{Catalog, FlakeBuilder, NixRuntime};

fn app(bed: &NixTestbed, name: &str, config: &str, files: &[(&str, &str)]) -> (PathBuf, AppConfig) {
    let dir = bed.scratch(name);
    std::fs::write(dir.join("config.vpspilot.json"), config).unwrap();
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let config = pilot_core::config::load(&dir).unwrap();
    (dir, config)
}

async fn shell(line: &str, dir: &Path, toolchain: &Toolchain) -> (bool, Vec<String>) {
    let sink = MemorySink::new();
    let exit = run_shell(line, dir, &toolchain.env, &Redactor::none(), &sink)
        .await
        .unwrap();
    (
        exit.success,
        sink.lines().into_iter().map(|(_, l)| l).collect(),
    )
}

async fn build(
    builder: &FlakeBuilder,
    dir: &Path,
    config: &AppConfig,
    toolchain: &Toolchain,
) -> (pilot_core::Result<()>, Vec<String>) {
    let sink = MemorySink::new();
    let redactor = Redactor::new(["s3cret"]);
    let app_env = BTreeMap::new();
    let log = dir.join("deploy.log");
    let ctx = BuildContext {
        release_dir: dir,
        config,
        toolchain,
        app_env: &app_env,
        redactor: &redactor,
        output: &sink,
        log_file: &log,
    };
    let result = builder.build(&ctx).await;
    (result, sink.lines().into_iter().map(|(_, l)| l).collect())
}

const PYTHON: &str = r#"{"name": "py", "type": "python", "runtime": {"python": "3.11"},
    "build": {"commands": ["python3 -c 'print(\"built with\", __import__(\"sys\").version.split()[0])'"]},
    "start": {"command": "exec python3 app.py"}}"#;

#[tokio::test]
async fn the_dev_shell_is_realised_once_and_commands_run_without_nix() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let (dir, config) = app(&bed, "py", PYTHON, &[]);
    let runtime = NixRuntime::new(bed.options.clone());
    let toolchain = runtime.prepare(&dir, &config).await.unwrap();
    let python = bed.versions.of("python311");
    assert_eq!(toolchain.description, format!("python {python} (nix)"));
    let path = &toolchain.env["PATH"];
    assert!(path.starts_with("/nix/store/"), "{path}");
    assert!(!toolchain.env.contains_key("NIX_BUILD_TOP"));
    assert!(!toolchain.env.contains_key("out"));
    assert_eq!(
        toolchain.env.get("HOME"),
        std::env::var("HOME").ok().as_ref()
    );

    let (ok, lines) = shell("python3 --version && command -v python3", &dir, &toolchain).await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0], format!("Python {python}"));
    assert!(lines[1].starts_with("/nix/store/"), "{lines:?}");

    // The flake is written inside the release and the dev shell is a GC root.
    let nix_dir = dir.join(".pilot/nix");
    assert!(nix_dir.join("flake/flake.nix").is_file());
    let root = std::fs::read_link(nix_dir.join("dev-env")).unwrap();
    let roots = std::process::Command::new("nix-store")
        .args(["--gc", "--print-roots"])
        .output()
        .unwrap();
    let roots = String::from_utf8_lossy(&roots.stdout);
    let link = nix_dir.join(&root);
    assert!(
        roots.contains(&link.display().to_string()),
        "{} is not a GC root:\n{roots}",
        link.display()
    );
}

#[tokio::test]
async fn the_flake_builder_builds_with_a_gc_root_then_runs_the_build_commands() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let (dir, config) = app(&bed, "py-build", PYTHON, &[]);
    let toolchain = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap();
    let builder = FlakeBuilder::new(bed.options.clone());
    let (result, lines) = build(&builder, &dir, &config, &toolchain).await;
    result.unwrap();
    let python = bed.versions.of("python311");
    assert!(
        lines.iter().any(|l| l.starts_with("$ nix build")),
        "{lines:?}"
    );
    assert!(lines.contains(&format!("built with {python}")), "{lines:?}");
    let launcher = dir.join(".pilot/nix/result/bin/py");
    assert!(launcher.is_file(), "{}", launcher.display());
}

#[tokio::test]
async fn an_exact_release_that_is_not_available_names_what_is() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let (dir, config) = app(
        &bed,
        "php-exact",
        r#"{"name": "shop", "type": "laravel", "runtime": {"php": "8.2.99"}, "start": {"command": "php -S 0:$PORT"}}"#,
        &[],
    );
    let err = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "php 8.2.99 is not available at the pinned revision, which provides php 8.2.14"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_attribute_names_the_attribute_and_the_line() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let catalog = Catalog::from_toml(
        &BUILTIN_TOML.replace("\"3.11\" = \"python311\"", "\"3.11\" = \"python3_11\""),
    )
    .unwrap();
    let (dir, config) = app(&bed, "missing", PYTHON, &[]);
    let err = NixRuntime::new(bed.options.clone())
        .with_catalog(catalog)
        .prepare(&dir, &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing attribute 'python3_11' at flake.nix:"),
        "{err}"
    );
    assert!(err.contains(".pilot/nix/develop.log"), "{err}");
    assert!(err.len() < 600, "the error should be short: {err}");
}

const CUSTOM: &str = r#"{"name": "own", "type": "custom", "nix": {"flake_file": "nix/flake.nix"},
    "build": {"commands": ["hello-tool"]}, "start": {"command": "exec hello-tool"}}"#;

fn custom_flake(body: &str) -> String {
    format!(
        r#"{{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = {{ self, nixpkgs }}: let
    system = "{system}";
    pkgs = nixpkgs.legacyPackages.${{system}};
  in {{
{body}
  }};
}}
"#,
        system = pilot_nix::nix::current_system()
    )
}

#[tokio::test]
async fn a_custom_flake_provides_the_toolchain_and_its_package() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let flake = custom_flake(
        r#"    packages.${system}.default = pkgs.writeShellScriptBin "hello-tool" "echo hello from the custom flake";
    devShells.${system}.default = pkgs.mkShell { packages = [ self.packages.${system}.default pkgs.python311 ]; MODE = "custom"; };"#,
    );
    let (dir, config) = app(&bed, "custom-ok", CUSTOM, &[("nix/flake.nix", &flake)]);
    let toolchain = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap();
    assert_eq!(toolchain.description, "custom flake nix/flake.nix");
    assert_eq!(toolchain.env["MODE"], "custom");
    let (result, lines) = build(
        &FlakeBuilder::new(bed.options.clone()),
        &dir,
        &config,
        &toolchain,
    )
    .await;
    result.unwrap();
    assert!(
        lines.contains(&"hello from the custom flake".to_string()),
        "{lines:?}"
    );
    assert!(dir.join(".pilot/nix/result/bin/hello-tool").is_file());
}

#[tokio::test]
async fn a_syntax_error_in_a_custom_flake_names_file_line_and_column() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let broken = "{\n  outputs = { self }: {\n    x = 1\n  };\n}\n";
    let (dir, config) = app(&bed, "custom-syntax", CUSTOM, &[("nix/flake.nix", broken)]);
    let err = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid config.vpspilot.json") || err.contains("nix.flake_file"),
        "{err}"
    );
    assert!(err.contains("syntax error, unexpected '}'"), "{err}");
    assert!(err.contains("nix/flake.nix:4:3"), "{err}");
}

#[tokio::test]
async fn a_custom_flake_without_shell_or_package_is_refused() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let flake = custom_flake("    checks.${system} = { };");
    let (dir, config) = app(&bed, "custom-empty", CUSTOM, &[("nix/flake.nix", &flake)]);
    let err = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "it provides neither devShells.<system>.default nor packages.<system>.default"
        ),
        "{err}"
    );
    let (dir, config) = app(&bed, "custom-absent", CUSTOM, &[]);
    let err = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the file does not exist in the release"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_build_shows_its_last_lines_and_keeps_the_full_log() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let flake = custom_flake(
        r#"    packages.${system}.default = derivation { name = "broken-app"; inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
      args = [ "-c" "echo compiling; echo using s3cret; echo 'error: oops' >&2; exit 3" ]; };
    devShells.${system}.default = pkgs.mkShell { };"#,
    );
    let (dir, config) = app(&bed, "custom-fail", CUSTOM, &[("nix/flake.nix", &flake)]);
    let toolchain = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap();
    let (result, lines) = build(
        &FlakeBuilder::new(bed.options.clone()),
        &dir,
        &config,
        &toolchain,
    )
    .await;
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("building broken-app failed with exit code 3; last output: compiling | using ******** | error: oops"),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l == "broken-app> compiling"),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("s3cret")),
        "secrets are masked: {lines:?}"
    );
    let log = std::fs::read_to_string(dir.join(".pilot/nix/build.log")).unwrap();
    assert!(log.contains("broken-app> compiling"), "{log}");
}

#[tokio::test]
async fn a_hash_mismatch_says_which_hash_to_use() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let flake = custom_flake(
        r#"    packages.${system}.default = derivation { name = "vendored"; inherit system; builder = "/bin/sh";
      outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
      args = [ "-c" "echo vendored > $out" ]; };
    devShells.${system}.default = pkgs.mkShell { };"#,
    );
    let (dir, config) = app(&bed, "custom-hash", CUSTOM, &[("nix/flake.nix", &flake)]);
    let toolchain = NixRuntime::new(bed.options.clone())
        .prepare(&dir, &config)
        .await
        .unwrap();
    let (result, _) = build(
        &FlakeBuilder::new(bed.options.clone()),
        &dir,
        &config,
        &toolchain,
    )
    .await;
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("hash mismatch in vendored: the flake declares sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= but the download has sha256-"),
        "{err}"
    );
}
