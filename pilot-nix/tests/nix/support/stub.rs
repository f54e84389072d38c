//! The stub flake: plain derivations standing in for the nixpkgs attributes
//! and community packages Pilot's templates use. Python and Node.js wrap the
//! host's interpreters so apps really run; the other runtimes are scripts
//! that print their version banner.

use std::path::PathBuf;
use std::process::Command;

use pilot_nix::escape::nix_string;

/// The host's interpreters the stub wraps.
pub struct HostTools {
    /// The real python3 binary (not a shim) and its version.
    pub python: (PathBuf, String),
    /// The node binary and its version.
    pub node: (PathBuf, String),
}

impl HostTools {
    /// Finds python3 and node on this machine.
    pub fn discover() -> HostTools {
        let python = run(
            "python3",
            &[
                "-c",
                "import sys, platform; print(sys.executable); print(platform.python_version())",
            ],
        );
        let mut lines = python.lines();
        let python = (
            PathBuf::from(lines.next().unwrap()),
            lines.next().unwrap().to_string(),
        );
        let node = run(
            "node",
            &[
                "-e",
                "console.log(process.execPath); console.log(process.versions.node)",
            ],
        );
        let mut lines = node.lines();
        let node = (
            PathBuf::from(lines.next().unwrap()),
            lines.next().unwrap().to_string(),
        );
        HostTools { python, node }
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the tests need {program} on the host: {e}"));
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The version each stub package reports.
pub struct StubVersions {
    /// nixpkgs attribute → version.
    pub nixpkgs: Vec<(&'static str, String)>,
    /// Community package attribute → version.
    pub community: Vec<(String, String)>,
}

impl StubVersions {
    /// The versions for a host with these interpreters.
    pub fn new(host: &HostTools) -> StubVersions {
        let python = host.python.1.clone();
        let node = host.node.1.clone();
        let python_series = python.rsplit_once('.').unwrap().0.to_string();
        let node_major = node.split('.').next().unwrap().to_string();
        let mut nixpkgs = vec![
            ("python310", "3.10.14".to_string()),
            ("python311", "3.11.9".to_string()),
            ("python312", "3.12.5".to_string()),
            ("nodejs_18", "18.20.4".to_string()),
            ("nodejs_20", "20.17.0".to_string()),
            ("nodejs_22", "22.8.0".to_string()),
            ("php81", "8.1.29".to_string()),
            ("php82", "8.2.23".to_string()),
            ("php83", "8.3.11".to_string()),
            ("go_1_21", "1.21.13".to_string()),
            ("go_1_22", "1.22.7".to_string()),
            ("go_1_23", "1.23.1".to_string()),
            ("ruby_3_1", "3.1.6".to_string()),
            ("ruby_3_2", "3.2.5".to_string()),
            ("ruby_3_3", "3.3.5".to_string()),
        ];
        // The series of the host's own interpreters wrap them, at their versions.
        for (attr, version) in &mut nixpkgs {
            if *attr == format!("python{}", python_series.replace('.', "")) {
                *version = python.clone();
            }
            if *attr == format!("nodejs_{node_major}") {
                *version = node.clone();
            }
        }
        let community = vec![
            (python.clone(), python.clone()),
            ("3.12.1".to_string(), "3.12.1".to_string()),
            ("ruby-3.2.2".to_string(), "3.2.2".to_string()),
            ("php81".to_string(), "8.1.27".to_string()),
            ("php82".to_string(), "8.2.14".to_string()),
            ("php83".to_string(), "8.3.2".to_string()),
        ];
        StubVersions { nixpkgs, community }
    }

    /// The version of a nixpkgs attribute.
    pub fn of(&self, attribute: &str) -> &str {
        &self
            .nixpkgs
            .iter()
            .find(|(a, _)| *a == attribute)
            .unwrap()
            .1
    }
}

/// A Nix expression for a package named `pname` at `version` whose `bin/`
/// holds the given programs.
fn package(pname: &str, version: &str, host: &HostTools, extra: &str) -> String {
    let (program, target): (&str, Option<&PathBuf>) = match pname {
        "python3" => ("python3", Some(&host.python.0)),
        "nodejs" => ("node", Some(&host.node.0)),
        "php" => ("php", None),
        "go" => ("go", None),
        "ruby" => ("ruby", None),
        other => (other, None),
    };
    let wraps_host = match pname {
        "python3" => version == host.python.1,
        "nodejs" => version == host.node.1,
        _ => false,
    };
    let banner = match pname {
        "python3" => format!("Python {version}"),
        "nodejs" => format!("v{version}"),
        "php" => format!("PHP {version} (cli)"),
        "go" => format!("go version go{version} linux/amd64"),
        "ruby" => format!("ruby {version}"),
        other => format!("{other} {version}"),
    };
    let mut script = "set -e\nmkdir -p \"$out/bin\"\n".to_string();
    let mut programs = vec![program.to_string()];
    if pname == "python3" {
        programs.push("python".to_string());
    }
    if pname == "nodejs" {
        programs.push("npm".to_string());
    }
    for name in &programs {
        match target {
            Some(path)
                if wraps_host && (name == "python3" || name == "python" || name == "node") =>
            {
                script.push_str(&format!("ln -s {} \"$out/bin/{name}\"\n", path.display()));
            }
            _ if name == "npm" && wraps_host => {
                script.push_str(&format!(
                    "ln -s {} \"$out/bin/npm\"\n",
                    host.node.0.with_file_name("npm").display()
                ));
            }
            _ => {
                script.push_str(&format!(
                    "printf '#!/bin/sh\\necho \"%s\"\\n' '{banner}' > \"$out/bin/{name}\"\nchmod +x \"$out/bin/{name}\"\n"
                ));
            }
        }
    }
    format!(
        "(derivation {{ name = {}; inherit system; builder = \"/bin/sh\"; PATH = \"/usr/bin:/bin\"; args = [ \"-c\" {} ]; }} // {{ version = {}; {extra} }})",
        nix_string(&format!("{pname}-{version}")),
        nix_string(&script),
        nix_string(version),
    )
}

fn tool(name: &str, host: &HostTools) -> String {
    package(name, "1.0", host, "")
}

fn runtime(attr: &str, version: &str, host: &HostTools) -> String {
    let pname = if attr.starts_with("python")
        || attr.contains('.') && !attr.starts_with("ruby") && !attr.starts_with("php")
    {
        "python3"
    } else if attr.starts_with("nodejs") {
        "nodejs"
    } else if attr.starts_with("php") {
        "php"
    } else if attr.starts_with("go") {
        "go"
    } else {
        "ruby"
    };
    let extra = match pname {
        "python3" => format!("pkgs = {{ pip = {}; }};", tool("pip", host)),
        "php" => format!("packages = {{ composer = {}; }};", tool("composer", host)),
        _ => String::new(),
    };
    package(pname, version, host, &extra)
}

/// The text of the stub's `flake.nix`.
pub fn flake(host: &HostTools, versions: &StubVersions) -> String {
    let legacy: String = versions
        .nixpkgs
        .iter()
        .map(|(attr, version)| format!("          {attr} = {};\n", runtime(attr, version, host)))
        .collect();
    let community: String = versions
        .community
        .iter()
        .map(|(attr, version)| {
            format!(
                "          {} = {};\n",
                nix_string(attr),
                runtime(attr, version, host)
            )
        })
        .collect();
    format!(
        r#"{{
  description = "Stand-in for nixpkgs and the community runtime flakes, for Pilot's tests";
  outputs = {{ self }}:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: builtins.listToAttrs (map (system: {{ name = system; value = f system; }}) systems);
      binPath = paths: builtins.concatStringsSep ":" ((map (p: "${{p}}/bin") paths) ++ [ "/usr/bin" "/bin" ]);
      common = system: {{
        mkShell = {{ name ? "nix-shell", packages ? [ ], nativeBuildInputs ? [ ], buildInputs ? [ ], ... }}@attrs:
          derivation ((builtins.removeAttrs attrs [ "packages" "nativeBuildInputs" "buildInputs" ]) // {{
            inherit name system;
            builder = "/bin/bash";
            outputs = [ "out" ];
            PATH = binPath (packages ++ nativeBuildInputs ++ buildInputs);
            args = [ "-c" "echo > $out" ];
          }});
        writeShellScriptBin = name: text: derivation {{
          inherit name system text;
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          args = [ "-c" "mkdir -p $out/bin && {{ echo '#!/bin/bash'; printf '%s' \"$text\"; }} > $out/bin/$name && chmod +x $out/bin/$name" ];
        }};
        buildEnv = {{ name, paths, ... }}: derivation {{
          inherit name system paths;
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          args = [ "-c" "mkdir -p $out/bin && for p in $paths; do for f in $p/bin/*; do ln -sf $f $out/bin/; done; done" ];
        }};
      }};
    in {{
      legacyPackages = forAllSystems (system: common system // {{
{legacy}      }});
      packages = forAllSystems (system: {{
{community}      }});
    }};
}}
"#
    )
}
