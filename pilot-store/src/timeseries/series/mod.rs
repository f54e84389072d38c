//! Series identity (node, metric name, labels), selectors, and the in-memory
//! registry that maps samples to series ids without allocating.

mod intern;
mod registry;

#[cfg(test)]
mod footprint;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::LazyLock;

use foldhash::fast::RandomState;
use serde::{Deserialize, Serialize};

pub(crate) use registry::Registry;

/// One series: a metric on a node with a set of labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Numeric id in the store.
    pub id: i64,
    /// The node the samples come from.
    pub node: String,
    /// Metric name.
    pub name: String,
    /// Labels besides the node, e.g. `{"project": "shop"}`.
    pub labels: BTreeMap<String, String>,
}

/// Which series a query reads: a metric name, optionally one node, and
/// labels every selected series must carry (others may be present too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesSelector {
    /// Metric name (exact).
    pub name: String,
    /// Only this node, when set.
    pub node: Option<String>,
    /// Labels that must match exactly.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl SeriesSelector {
    /// Every series of a metric.
    pub fn metric(name: impl Into<String>) -> Self {
        SeriesSelector {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Narrows to one node.
    pub fn on_node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// Requires a label value.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Whether a series is selected.
    pub fn matches(&self, series: &SeriesInfo) -> bool {
        series.name == self.name
            && self.node.as_ref().is_none_or(|n| *n == series.node)
            && self
                .labels
                .iter()
                .all(|(k, v)| series.labels.get(k) == Some(v))
    }
}

/// Seed of [`identity_hash`], drawn once per process so that names chosen by
/// agents cannot be picked to collide on every server.
static IDENTITY_SEED: LazyLock<RandomState> = LazyLock::new(RandomState::default);

/// Hash of a series identity, computed from borrowed parts. Keyed per
/// process: never store it.
pub(crate) fn identity_hash(node: &str, name: &str, labels: &BTreeMap<String, String>) -> u64 {
    hash_identity(
        node,
        name,
        labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// [`identity_hash`] of a label set given as (key, value) pairs in key order,
/// as the registry stores it.
fn hash_identity<'a>(
    node: &str,
    name: &str,
    labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> u64 {
    let mut h = IDENTITY_SEED.build_hasher();
    node.hash(&mut h);
    name.hash(&mut h);
    h.write_usize(labels.len());
    for (key, value) in labels {
        key.hash(&mut h);
        value.hash(&mut h);
    }
    h.finish()
}

/// Canonical text of a label set (JSON, keys sorted).
pub(crate) fn labels_text(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}
