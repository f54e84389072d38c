//! Nix from Python: the flake Pilot generates for a config, and the catalog
//! of supported runtime versions.

use std::collections::BTreeMap;

use pilot_core::config::Language;
use pilot_nix::Catalog;
use pyo3::prelude::*;

use crate::config::Config;
use crate::errors::nix_error;

/// The files of the Nix flake Pilot generates for ``config``, as
/// ``{path: text}`` (today one file, ``"flake.nix"``).
///
/// Raises :class:`ConfigError` when the config lacks the runtime its type
/// needs, and :class:`NixError` for ``"custom"`` apps, which bring their
/// own flake.
#[pyfunction]
pub(crate) fn render_flake(py: Python<'_>, config: &Config) -> PyResult<BTreeMap<String, String>> {
    let flake =
        pilot_nix::render_flake(&config.inner, Catalog::builtin()).map_err(|e| nix_error(py, e))?;
    Ok(BTreeMap::from([("flake.nix".to_string(), flake.text)]))
}

/// The runtime versions Pilot supports, as ``{runtime: [series, ...]}``
/// oldest first, e.g. ``{"node": ["18", "20", "22"], ...}``. A config may
/// ask for a listed series or an exact ``major.minor.patch`` release of one.
#[pyfunction]
pub(crate) fn supported_versions() -> BTreeMap<&'static str, Vec<String>> {
    let catalog = Catalog::builtin();
    Language::ALL
        .into_iter()
        .map(|language| {
            let series = catalog
                .series(language)
                .into_iter()
                .map(str::to_string)
                .collect();
            (language.as_str(), series)
        })
        .collect()
}

/// Registers the Nix functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(render_flake, m)?)?;
    m.add_function(wrap_pyfunction!(supported_versions, m)?)?;
    Ok(())
}
