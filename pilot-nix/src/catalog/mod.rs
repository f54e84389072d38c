//! The runtime catalog: which Nix package provides each supported runtime
//! version, read from one data file (`catalog.toml` at the crate root) that
//! holds the pinned nixpkgs revision in one place.
//!
//! A series such as `"3.11"` maps to a nixpkgs attribute (`python311`); an
//! exact release such as `"3.11.7"` maps to an attribute of a community flake
//! (`nixpkgs-python."3.11.7"`) or to the series attribute with a version
//! check, as the catalog says.
//!
//! ```
//! use pilot_core::config::Language;
//! use pilot_nix::catalog::{Catalog, PackageSet};
//!
//! let catalog = Catalog::builtin();
//! let series = catalog.resolve(Language::Python, "3.11").unwrap();
//! assert_eq!(series.package.input, "nixpkgs");
//! assert_eq!(series.package.attribute, "python311");
//!
//! let exact = catalog.resolve(Language::Python, "3.11.7").unwrap();
//! assert_eq!(exact.package.input, "nixpkgs-python");
//! assert_eq!(exact.package.set, PackageSet::Packages);
//! assert_eq!(exact.package.attribute, "3.11.7");
//!
//! let error = catalog.resolve(Language::Python, "3.9").unwrap_err();
//! assert!(error.to_string().contains("\"3.10\", \"3.11\", \"3.12\""));
//! ```

pub(crate) mod data;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use pilot_core::config::Language;
use pilot_core::config::versions::numeric_parts;

use crate::error::{Error, Result};

/// The text of the built-in catalog.
pub const BUILTIN_TOML: &str = include_str!("../../catalog.toml");

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    // The build script runs the same checks on this file and fails the build
    // when it has a problem, so parsing it here cannot fail.
    Catalog::from_toml(BUILTIN_TOML).unwrap_or_else(|e| panic!("{e}"))
});

/// Which package set of a flake input an attribute lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageSet {
    /// `legacyPackages.<system>` (nixpkgs).
    LegacyPackages,
    /// `packages.<system>` (community flakes).
    Packages,
}

impl PackageSet {
    /// The output name, e.g. `"legacyPackages"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageSet::LegacyPackages => "legacyPackages",
            PackageSet::Packages => "packages",
        }
    }
}

/// One package of a flake input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    /// The flake input, e.g. `"nixpkgs"` or `"nixpkgs-python"`.
    pub input: String,
    /// The package set of that input.
    pub set: PackageSet,
    /// The attribute, e.g. `"python311"` or `"3.11.7"`.
    pub attribute: String,
}

/// A requested runtime version, resolved to the package that provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRuntime {
    /// The language.
    pub language: Language,
    /// The version as written in the config, e.g. `"3.11"` or `"8.2.14"`.
    pub requested: String,
    /// The package.
    pub package: PackageRef,
    /// For exact releases taken from a series attribute: the version the
    /// package must have.
    pub check_version: Option<String>,
}

/// A flake input the generated flake declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakeInput {
    /// The input name.
    pub name: String,
    /// Its pinned flake reference.
    pub url: String,
}

#[derive(Debug, Clone)]
struct LanguageEntry {
    series: BTreeMap<String, String>,
    exact: data::RawExact,
}

/// The runtime catalog. [`Catalog::builtin`] is the one shipped with Pilot;
/// [`Catalog::from_toml`] reads another (e.g. a node operator's own pins).
#[derive(Debug, Clone)]
pub struct Catalog {
    nixpkgs: String,
    inputs: BTreeMap<String, String>,
    languages: BTreeMap<Language, LanguageEntry>,
}

impl Catalog {
    /// The catalog shipped with Pilot (`catalog.toml`).
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// Reads a catalog in the format of `catalog.toml`.
    pub fn from_toml(text: &str) -> Result<Catalog> {
        let raw = data::parse(text).map_err(|problems| Error::InvalidCatalog { problems })?;
        let mut languages = BTreeMap::new();
        for (key, entry) in raw.languages {
            let Some(language) = Language::ALL.into_iter().find(|l| l.as_str() == key) else {
                continue;
            };
            languages.insert(
                language,
                LanguageEntry {
                    series: entry.series,
                    exact: entry.exact,
                },
            );
        }
        Ok(Catalog {
            nixpkgs: raw.nixpkgs.url,
            inputs: raw.inputs.into_iter().map(|(k, v)| (k, v.url)).collect(),
            languages,
        })
    }

    /// The pinned nixpkgs flake reference.
    pub fn nixpkgs_url(&self) -> &str {
        &self.nixpkgs
    }

    /// The flake reference of a community input, if the catalog has it.
    pub fn input_url(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).map(String::as_str)
    }

    /// The supported series of a language, oldest first (e.g. `["3.10", "3.11", "3.12"]`).
    pub fn series(&self, language: Language) -> Vec<&str> {
        let mut series: Vec<&str> = self
            .languages
            .get(&language)
            .map(|e| e.series.keys().map(String::as_str).collect())
            .unwrap_or_default();
        series.sort_by_key(|s| numeric_parts(s));
        series
    }

    /// Resolves a requested version: a listed series, or an exact
    /// `major.minor.patch` release of one.
    pub fn resolve(&self, language: Language, version: &str) -> Result<ResolvedRuntime> {
        let unsupported = || Error::UnsupportedVersion {
            language,
            version: version.to_string(),
            supported: self
                .series(language)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let entry = self.languages.get(&language).ok_or_else(unsupported)?;
        if let Some(attribute) = entry.series.get(version) {
            return Ok(ResolvedRuntime {
                language,
                requested: version.to_string(),
                package: PackageRef {
                    input: data::NIXPKGS.to_string(),
                    set: PackageSet::LegacyPackages,
                    attribute: attribute.clone(),
                },
                check_version: None,
            });
        }
        let parts = numeric_parts(version).ok_or_else(unsupported)?;
        let of_listed_series = entry
            .series
            .keys()
            .filter_map(|s| numeric_parts(s))
            .any(|prefix| parts.starts_with(&prefix));
        if parts.len() != 3 || !of_listed_series {
            return Err(unsupported());
        }
        let (major, minor) = (parts[0].to_string(), parts[1].to_string());
        let exact = &entry.exact;
        Ok(ResolvedRuntime {
            language,
            requested: version.to_string(),
            package: PackageRef {
                input: exact.input.clone(),
                set: if exact.input == data::NIXPKGS {
                    PackageSet::LegacyPackages
                } else {
                    PackageSet::Packages
                },
                attribute: data::fill(&exact.attribute, version, &major, &minor),
            },
            check_version: exact.check.then(|| version.to_string()),
        })
    }

    /// The inputs a flake with these runtimes needs besides nixpkgs, in name order.
    pub fn inputs_for<'a>(
        &self,
        runtimes: impl IntoIterator<Item = &'a ResolvedRuntime>,
    ) -> Vec<FlakeInput> {
        let mut names: Vec<&str> = runtimes
            .into_iter()
            .map(|r| r.package.input.as_str())
            .filter(|name| *name != data::NIXPKGS)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter_map(|name| {
                self.inputs.get(name).map(|url| FlakeInput {
                    name: name.to_string(),
                    url: url.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
