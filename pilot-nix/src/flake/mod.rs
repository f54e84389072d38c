//! Generated flakes: one askama template per app type, filled from a parsed
//! config and the runtime catalog.
//!
//! The flake pins nixpkgs (and the community inputs of exact releases) and
//! provides:
//! - `devShells.<system>.default`: the toolchain, which
//!   [`NixRuntime`](crate::NixRuntime) realises once per release;
//! - `packages.<system>.default` and `apps.<system>.default`: a launcher that
//!   starts the app from the current directory on `$PORT`;
//! - `packages.<system>.toolchain`: the toolchain as one environment;
//! - `pilot`: the app's name, type, build/start/test commands and env, exactly
//!   as configured.
//!
//! ```
//! let config = pilot_core::config::parse(r#"{
//!     "name": "shop", "type": "laravel",
//!     "runtime": {"php": "8.2", "node": "20"},
//!     "build": {"commands": ["composer install --no-dev", "npm run build"]},
//!     "start": {"command": "php artisan serve --host=127.0.0.1 --port=$PORT"}
//! }"#).unwrap();
//! let flake = pilot_nix::render_flake(&config, pilot_nix::Catalog::builtin()).unwrap();
//! assert!(flake.text.contains("php = pkgs.php82;"));
//! assert!(flake.text.contains("node = pkgs.nodejs_20;"));
//! assert!(flake.text.contains("php.packages.composer"));
//! ```

mod view;

use askama::Template;
use pilot_core::config::{AppConfig, AppType};

use crate::catalog::{Catalog, ResolvedRuntime};
use crate::error::{Error, Result};
use view::FlakeView;
pub use view::script_name;

/// A rendered flake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFlake {
    /// The text of `flake.nix`.
    pub text: String,
    /// The runtimes it provides, in config order.
    pub runtimes: Vec<ResolvedRuntime>,
}

macro_rules! flake_templates {
    ($($ty:ident => $file:literal),* $(,)?) => {
        $(
            #[derive(Template)]
            #[template(path = $file, escape = "none")]
            struct $ty<'a> {
                f: &'a FlakeView,
            }
        )*
    };
}

flake_templates! {
    LaravelFlake => "laravel.nix",
    NodejsFlake => "nodejs.nix",
    GoFlake => "go.nix",
    PythonFlake => "python.nix",
    DjangoFlake => "django.nix",
    StaticFlake => "static.nix",
    RubyFlake => "ruby.nix",
}

/// Resolves every runtime the config requests, checking that the type's own
/// language is among them.
pub fn resolve_runtimes(config: &AppConfig, catalog: &Catalog) -> Result<Vec<ResolvedRuntime>> {
    if let Some(language) = config.app_type.required_language()
        && !config
            .runtime
            .requested()
            .iter()
            .any(|(l, _)| *l == language)
    {
        let series = catalog.series(language);
        return Err(Error::MissingRuntime {
            app_type: config.app_type.to_string(),
            language,
            example: series.last().map_or_else(String::new, |s| s.to_string()),
        });
    }
    config
        .runtime
        .requested()
        .into_iter()
        .map(|(language, version)| catalog.resolve(language, version))
        .collect()
}

/// Renders the flake of a template app type (every type but `custom`, whose
/// flake is the app's own).
pub fn render_flake(config: &AppConfig, catalog: &Catalog) -> Result<RenderedFlake> {
    if let Some(name) = config.env.keys().find(|k| !is_env_name(k)) {
        return Err(Error::InvalidEnvName { name: name.clone() });
    }
    let runtimes = resolve_runtimes(config, catalog)?;
    let view = FlakeView::new(config, catalog, &runtimes);
    let f = &view;
    let rendered = match config.app_type {
        AppType::Laravel => LaravelFlake { f }.render(),
        AppType::Nodejs => NodejsFlake { f }.render(),
        AppType::Go => GoFlake { f }.render(),
        AppType::Python => PythonFlake { f }.render(),
        AppType::Django => DjangoFlake { f }.render(),
        AppType::Static => StaticFlake { f }.render(),
        AppType::Ruby => RubyFlake { f }.render(),
        AppType::Custom => return Err(Error::NoTemplate),
    };
    let text = rendered.map_err(|cause| Error::Render {
        template: config.app_type.as_str(),
        cause,
    })?;
    Ok(RenderedFlake { text, runtimes })
}

/// A shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
