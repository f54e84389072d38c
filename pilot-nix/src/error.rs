//! The error type of pilot-nix.

use std::path::PathBuf;

use pilot_core::config::Language;

/// Result of fallible pilot-nix operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pilot-nix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core operation failed.
    #[error(transparent)]
    Core(#[from] pilot_core::Error),

    /// A runtime version is not in the catalog.
    #[error(
        "{language} {version} is not supported; supported {language} versions are {}, \
         or an exact release of one of them such as \"{}\"",
        quoted(supported),
        exact_example(supported)
    )]
    UnsupportedVersion {
        /// The language.
        language: Language,
        /// The version the config asks for.
        version: String,
        /// The supported series, oldest first.
        supported: Vec<String>,
    },

    /// A catalog file is malformed; every problem is listed.
    #[error("invalid runtime catalog: {}; fix the catalog file", problems.join("; "))]
    InvalidCatalog {
        /// Every problem found.
        problems: Vec<String>,
    },

    /// The app type needs a runtime the config does not request.
    #[error("a {app_type} app needs `runtime.{language}`; add e.g. \"{language}\": \"{example}\"")]
    MissingRuntime {
        /// The app type.
        app_type: String,
        /// The language it needs.
        language: Language,
        /// A supported version to suggest.
        example: String,
    },

    /// An env name cannot be exported by a shell.
    #[error(
        "env name {name:?} is not a shell variable name; use letters, digits and '_', not starting with a digit"
    )]
    InvalidEnvName {
        /// The rejected name.
        name: String,
    },

    /// Custom apps bring their own flake; there is no template to render.
    #[error(
        "custom apps have no flake template; Pilot uses the app's own flake (`nix.flake_file`)"
    )]
    NoTemplate,

    /// A template failed to render.
    #[error(
        "rendering the {template} flake template failed: {cause}; report this to the Pilot maintainers"
    )]
    Render {
        /// Which template.
        template: &'static str,
        /// The template engine's error.
        cause: askama::Error,
    },

    /// A custom app's own flake is not usable.
    #[error("custom flake {path}: {reason}; {hint}")]
    CustomFlake {
        /// The flake file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// What to do.
        hint: &'static str,
    },

    /// The `nix` command could not be started.
    #[error(
        "cannot run {program}: {cause}; install Nix (scripts/setup/nix.sh) or set the nix binary in NixOptions"
    )]
    NixMissing {
        /// The program that was run.
        program: String,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A Nix command failed; the failure names the cause.
    #[error("`{command}` failed: {failure}; the full log is in {}", log.display())]
    NixFailed {
        /// The command line.
        command: String,
        /// The cause, e.g. a missing attribute at `flake.nix:30:9`.
        failure: Box<crate::nix::NixFailure>,
        /// The file holding Nix's whole output.
        log: PathBuf,
    },

    /// Nix printed something Pilot could not read.
    #[error(
        "cannot read the output of `{command}`: {reason}; check that Nix is version 2.8 or newer"
    )]
    NixOutput {
        /// The command line.
        command: String,
        /// What was wrong.
        reason: String,
    },

    /// A host module setting is not usable.
    #[error("host module setting {field} = {value:?} is invalid: {reason}")]
    InvalidHostSetting {
        /// The setting.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// Why, and what to write instead.
        reason: &'static str,
    },
}

fn quoted(list: &[String]) -> String {
    list.iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An exact release of the middle series, e.g. "20.1.0" or "3.11.1".
fn exact_example(list: &[String]) -> String {
    let Some(series) = list.get(list.len() / 2) else {
        return "1.0.0".to_string();
    };
    match series.matches('.').count() {
        0 => format!("{series}.1.0"),
        _ => format!("{series}.1"),
    }
}

impl Error {
    /// Converts into the core error the `Runtime` and `Builder` traits
    /// return, keeping the message; `log` is the log file named for Nix
    /// failures that have no log of their own.
    pub fn into_core(self, log: &std::path::Path) -> pilot_core::Error {
        use pilot_core::config::{ConfigError, Problem};
        let message = self.to_string();
        match self {
            Error::Core(e) => e,
            Error::UnsupportedVersion {
                language, version, ..
            } => pilot_core::Error::RuntimeMissing {
                language: language.to_string(),
                wanted: version,
                found: message,
            },
            Error::MissingRuntime { language, .. } => pilot_core::Error::RuntimeMissing {
                language: language.to_string(),
                wanted: "a version".to_string(),
                found: message,
            },
            Error::NixMissing { .. } => pilot_core::Error::RuntimeMissing {
                language: "nix".to_string(),
                wanted: "2.8 or newer".to_string(),
                found: message,
            },
            Error::CustomFlake { reason, hint, .. } => {
                pilot_core::Error::Config(ConfigError::from_problems(vec![
                    Problem::new("nix.flake_file", reason).with_hint(hint),
                ]))
            }
            Error::InvalidEnvName { name } => pilot_core::Error::Config(
                ConfigError::from_problems(vec![Problem::new(format!("env.{name}"), message)]),
            ),
            Error::NixFailed {
                command,
                failure,
                log: nix_log,
            } => pilot_core::Error::CommandFailed {
                phase: "nix",
                command,
                status: if nix_log == log {
                    failure.to_string()
                } else {
                    format!("{failure} (Nix's full output: {})", nix_log.display())
                },
                log: log.to_path_buf(),
            },
            Error::NixOutput { command, reason } => pilot_core::Error::CommandFailed {
                phase: "nix",
                command,
                status: reason,
                log: log.to_path_buf(),
            },
            Error::InvalidCatalog { .. }
            | Error::NoTemplate
            | Error::Render { .. }
            | Error::InvalidHostSetting { .. } => pilot_core::Error::CommandFailed {
                phase: "nix",
                command: "generate the release's flake".to_string(),
                status: message,
                log: log.to_path_buf(),
            },
        }
    }
}
