//! The values a flake template prints, built from a config. Each is a Nix
//! literal made by [`nix_string`](crate::escape::nix_string) or an
//! expression assembled from names the catalog checked.

use pilot_core::config::AppConfig;

use crate::catalog::{Catalog, PackageRef, ResolvedRuntime};
use crate::escape::{NixLiteral, nix_attr};

/// Everything a flake template prints.
#[derive(Debug, Clone)]
pub(crate) struct FlakeView {
    pub description: NixLiteral,
    pub nixpkgs_url: NixLiteral,
    pub inputs: Vec<InputView>,
    pub name: NixLiteral,
    pub app_type: NixLiteral,
    pub build: Vec<NixLiteral>,
    pub start: NixLiteral,
    pub test: NixLiteral,
    pub env: Vec<(String, NixLiteral)>,
    pub runtimes: Vec<RuntimeView>,
    pub script: NixLiteral,
}

/// A community flake input.
#[derive(Debug, Clone)]
pub(crate) struct InputView {
    /// Attribute name of the input (checked identifier, or quoted).
    pub name: String,
    pub url: NixLiteral,
}

/// One runtime of the toolchain.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeView {
    /// The `let` binding, the language's config key (`python`, `node`, ...).
    pub binding: &'static str,
    /// The language's config key, printed in the toolchain summary.
    pub language: &'static str,
    /// The Nix expression of the package.
    pub expr: String,
}

impl FlakeView {
    pub(crate) fn new(
        config: &AppConfig,
        catalog: &Catalog,
        runtimes: &[ResolvedRuntime],
    ) -> FlakeView {
        let inputs = catalog
            .inputs_for(runtimes)
            .into_iter()
            .map(|input| InputView {
                name: nix_attr(&input.name),
                url: NixLiteral::of(&input.url),
            })
            .collect();
        FlakeView {
            description: NixLiteral::of(&format!(
                "{} ({} app, deployed by Pilot)",
                config.name, config.app_type
            )),
            nixpkgs_url: NixLiteral::of(catalog.nixpkgs_url()),
            inputs,
            name: NixLiteral::of(&config.name),
            app_type: NixLiteral::of(config.app_type.as_str()),
            build: config
                .build
                .commands
                .iter()
                .map(|c| NixLiteral::of(c))
                .collect(),
            start: NixLiteral::of(&config.start.command),
            test: config
                .test
                .as_ref()
                .map_or_else(NixLiteral::null, |t| NixLiteral::of(&t.command)),
            env: config
                .env
                .iter()
                .map(|(k, v)| (nix_attr(k), NixLiteral::of(v)))
                .collect(),
            runtimes: runtimes.iter().map(runtime_view).collect(),
            script: NixLiteral::of(&script_name(&config.name)),
        }
    }
}

fn runtime_view(runtime: &ResolvedRuntime) -> RuntimeView {
    let package = package_expr(&runtime.package);
    let expr = match &runtime.check_version {
        Some(version) => format!(
            "exactly {} {} {package}",
            NixLiteral::of(runtime.language.as_str()),
            NixLiteral::of(version)
        ),
        None => package,
    };
    RuntimeView {
        binding: runtime.language.as_str(),
        language: runtime.language.as_str(),
        expr,
    }
}

/// `pkgs.python311` or `inputs.nixpkgs-python.packages.${system}."3.11.7"`.
fn package_expr(package: &PackageRef) -> String {
    let attribute = nix_attr(&package.attribute);
    if package.input == "nixpkgs" {
        format!("pkgs.{attribute}")
    } else {
        format!(
            "inputs.{}.{}.${{system}}.{attribute}",
            nix_attr(&package.input),
            package.set.as_str()
        )
    }
}

/// The launcher's file name: the app name in lowercase letters, digits and
/// dashes ("My Laravel App" → "my-laravel-app"); "app" when nothing is left.
pub fn script_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "app".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::script_name;

    #[test]
    fn script_names_are_plain() {
        assert_eq!(script_name("My Laravel App"), "my-laravel-app");
        assert_eq!(script_name("  ${x} \"q\" "), "x-q");
        assert_eq!(script_name("日本"), "app");
        assert_eq!(script_name(&"a".repeat(90)).len(), 40);
    }
}
