//! The typed model of `config.vpspilot.json`.
//!
//! These types are what a valid file deserializes into. Use
//! [`crate::config::parse`] to get one from text: it checks everything and
//! reports every problem at once, which plain `serde_json::from_str` does not.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// File name Pilot looks for at the root of an app.
pub const CONFIG_FILE_NAME: &str = "config.vpspilot.json";

/// A whole `config.vpspilot.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "config.vpspilot.json",
    description = "How Pilot builds, starts, checks and rolls out an app."
)]
pub struct AppConfig {
    /// Human-readable name of the app, e.g. "My Laravel App" (1 to 100 characters).
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// What kind of app this is; selects the toolchain template.
    #[serde(rename = "type")]
    pub app_type: AppType,
    /// Language runtimes and their versions, e.g. `{"node": "20"}` or `{"python": "3.11.7"}`.
    #[serde(default)]
    pub runtime: Runtimes,
    /// Commands that turn the fetched source into a runnable release.
    #[serde(default)]
    pub build: BuildSection,
    /// How to start the app. It must listen on `$PORT`.
    pub start: StartSection,
    /// Optional test command, run after the build; a failure stops the deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestSection>,
    /// Environment of the app. Values may hold `{{NAME}}` placeholders filled from secrets.
    /// `PORT` is set by Pilot and cannot be given here.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "not": { "const": "PORT" }
    }))]
    pub env: BTreeMap<String, String>,
    /// Nix settings; `flake_file` is required for `"type": "custom"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nix: Option<NixSection>,
    /// How releases are rolled out and checked.
    #[serde(default)]
    pub deployment: DeploymentSection,
    /// Resource limits for the app's service.
    #[serde(default)]
    pub resources: Resources,
    /// The stable public port clients connect to (1–65535). Pilot picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
}

impl AppConfig {
    /// Names of every secret the env values refer to with `{{NAME}}` placeholders.
    pub fn secret_names(&self) -> BTreeSet<String> {
        self.env
            .values()
            .flat_map(|value| super::placeholders(value))
            .collect()
    }
}

/// The kinds of app Pilot knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    /// PHP Laravel (php, optionally node for assets).
    Laravel,
    /// Node.js.
    Nodejs,
    /// Go.
    Go,
    /// Python (any framework).
    Python,
    /// Python Django.
    Django,
    /// Static files, optionally built with node.
    Static,
    /// Ruby.
    Ruby,
    /// The user's own flake (`nix.flake_file`).
    Custom,
}

impl AppType {
    /// Every app type, in documentation order.
    pub const ALL: [AppType; 8] = [
        AppType::Laravel,
        AppType::Nodejs,
        AppType::Go,
        AppType::Python,
        AppType::Django,
        AppType::Static,
        AppType::Ruby,
        AppType::Custom,
    ];

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Laravel => "laravel",
            AppType::Nodejs => "nodejs",
            AppType::Go => "go",
            AppType::Python => "python",
            AppType::Django => "django",
            AppType::Static => "static",
            AppType::Ruby => "ruby",
            AppType::Custom => "custom",
        }
    }

    /// The language whose runtime this type needs under `runtime`; `None` for
    /// `static` and `custom`.
    pub fn required_language(self) -> Option<Language> {
        match self {
            AppType::Laravel => Some(Language::Php),
            AppType::Nodejs => Some(Language::Node),
            AppType::Go => Some(Language::Go),
            AppType::Python | AppType::Django => Some(Language::Python),
            AppType::Ruby => Some(Language::Ruby),
            AppType::Static | AppType::Custom => None,
        }
    }
}

impl std::fmt::Display for AppType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Requested runtime versions. Each is a supported `major[.minor]` or an exact
/// `major.minor.patch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Runtimes {
    /// Node.js version, e.g. "20".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::node_version")]
    pub node: Option<String>,
    /// PHP version, e.g. "8.2" or "8.2.14".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::php_version")]
    pub php: Option<String>,
    /// Python version, e.g. "3.11" or "3.11.7".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::python_version")]
    pub python: Option<String>,
    /// Go version, e.g. "1.22".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::go_version")]
    pub go: Option<String>,
    /// Ruby version, e.g. "3.3" or "3.2.2".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::ruby_version")]
    pub ruby: Option<String>,
}

impl Runtimes {
    /// The requested (language, version) pairs, in a fixed order.
    pub fn requested(&self) -> Vec<(Language, &str)> {
        [
            (Language::Node, &self.node),
            (Language::Php, &self.php),
            (Language::Python, &self.python),
            (Language::Go, &self.go),
            (Language::Ruby, &self.ruby),
        ]
        .into_iter()
        .filter_map(|(lang, v)| v.as_deref().map(|v| (lang, v)))
        .collect()
    }
}

/// A language whose runtime version can be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Node.js.
    Node,
    /// PHP.
    Php,
    /// Python.
    Python,
    /// Go.
    Go,
    /// Ruby.
    Ruby,
}

impl Language {
    /// Every language, in config order.
    pub const ALL: [Language; 5] = [
        Language::Node,
        Language::Php,
        Language::Python,
        Language::Go,
        Language::Ruby,
    ];

    /// The key used under `runtime` in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Node => "node",
            Language::Php => "php",
            Language::Python => "python",
            Language::Go => "go",
            Language::Ruby => "ruby",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `build` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildSection {
    /// Shell commands run in order in the release directory; the first failure stops the deploy.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    pub commands: Vec<String>,
}

/// The `start` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSection {
    /// Shell command that runs the app in the foreground, listening on `$PORT`.
    #[schemars(length(min = 1))]
    pub command: String,
}

/// The `test` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSection {
    /// Shell command run after the build; a non-zero exit stops the deploy.
    #[schemars(length(min = 1))]
    pub command: String,
}

/// The `nix` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NixSection {
    /// Path of the app's own flake, relative to the app root (for `"type": "custom"`),
    /// e.g. "./flake.nix". It may not start with `/` or contain `..`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(?!/)(?!(.*/)?\.\.(/|$)).+$"))]
    pub flake_file: Option<String>,
}

/// How a new release replaces the live one. `"rolling"` is accepted as another
/// name of `"in-place"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Start the new release beside the live one, switch traffic when healthy (zero downtime).
    #[default]
    BlueGreen,
    /// Stop the live release, then start the new one on the same port (brief downtime, half the memory).
    #[serde(alias = "rolling")]
    InPlace,
}

/// What a health check connects to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheckKind {
    /// HTTP GET of the health check path; any 2xx within the timeout is healthy.
    #[default]
    Http,
    /// A TCP connect to the app's port.
    Tcp,
}

/// The `deployment` section. Durations are in seconds and may be fractional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentSection {
    /// Rollout strategy.
    pub strategy: Strategy,
    /// HTTP or TCP.
    pub healthcheck_type: HealthCheckKind,
    /// Health check URL, e.g. "http://localhost:3000/health" or "/health". Only its path
    /// and query are used: Pilot probes each release on its own port.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(https?://[^\s/]+(/\S*)?|/\S*)$"))]
    pub healthcheck_url: Option<String>,
    /// Health check path, e.g. "/health" (alternative to `healthcheck_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/\S*$"))]
    pub healthcheck_path: Option<String>,
    /// Seconds between checks while watching a live release (more than 0, at most 86400).
    #[schemars(range(max = 86400.0), extend("exclusiveMinimum" = 0))]
    pub healthcheck_interval: f64,
    /// Seconds one check may take (more than 0, at most 300).
    #[schemars(range(max = 300.0), extend("exclusiveMinimum" = 0))]
    pub healthcheck_timeout: f64,
    /// Consecutive failed checks that make a live release unhealthy (at least 1).
    #[schemars(range(min = 1))]
    pub healthcheck_retries: u32,
    /// Seconds a new release has to become healthy after it starts (more than 0, at most 86400).
    #[schemars(range(max = 86400.0), extend("exclusiveMinimum" = 0))]
    pub healthcheck_start_period: f64,
    /// Seconds after the switch during which a failure rolls back automatically (0 to 86400).
    #[schemars(range(min = 0.0, max = 86400.0))]
    pub watch_seconds: f64,
    /// Seconds open connections to the old release may take to finish after the switch
    /// (0 to 86400).
    #[schemars(range(min = 0.0, max = 86400.0))]
    pub drain_seconds: f64,
    /// How many releases to keep for rollback, including the live one (at least 1).
    #[schemars(range(min = 1))]
    pub keep_generations: u32,
    /// Keep the previous release running (no traffic) so a rollback to it is instant.
    pub warm_standby: bool,
}

impl Default for DeploymentSection {
    fn default() -> Self {
        DeploymentSection {
            strategy: Strategy::BlueGreen,
            healthcheck_type: HealthCheckKind::Http,
            healthcheck_url: None,
            healthcheck_path: None,
            healthcheck_interval: 10.0,
            healthcheck_timeout: 5.0,
            healthcheck_retries: 3,
            healthcheck_start_period: 60.0,
            watch_seconds: 30.0,
            drain_seconds: 30.0,
            keep_generations: 5,
            warm_standby: false,
        }
    }
}

impl DeploymentSection {
    /// The path (with query) the HTTP health check requests; "/" when none is configured.
    pub fn health_path(&self) -> String {
        if let Some(path) = &self.healthcheck_path {
            return path.clone();
        }
        if let Some(url) = &self.healthcheck_url {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            return match rest.find('/') {
                Some(i) => rest[i..].to_string(),
                None => "/".to_string(),
            };
        }
        "/".to_string()
    }

    /// Interval between checks while watching.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.healthcheck_interval)
    }

    /// Timeout of one check.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.healthcheck_timeout)
    }

    /// Time a new release has to become healthy.
    pub fn start_period(&self) -> Duration {
        Duration::from_secs_f64(self.healthcheck_start_period)
    }

    /// Watch window after the switch.
    pub fn watch(&self) -> Duration {
        Duration::from_secs_f64(self.watch_seconds)
    }

    /// Drain time for the old release's open connections.
    pub fn drain(&self) -> Duration {
        Duration::from_secs_f64(self.drain_seconds)
    }
}

/// The `resources` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Memory limit, e.g. "512M", "1G", "256MiB" or "1.5G" (units are powers of 1024;
    /// at least 1M).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?([KkMmGgTt]([Ii]?[Bb])?|[Bb])?$"))]
    pub memory: Option<String>,
    /// CPU limit in cores, e.g. 0.5 for half a core (more than 0, at most 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1024.0), extend("exclusiveMinimum" = 0))]
    pub cpu: Option<f64>,
}

impl Resources {
    /// The memory limit in bytes; `None` when no limit is set or it is not a valid size.
    pub fn memory_bytes(&self) -> Option<u64> {
        self.memory
            .as_deref()
            .and_then(|m| super::memory::parse_memory(m).ok())
    }
}
