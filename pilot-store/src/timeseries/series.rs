//! Series identity (node, metric name, labels), selectors, and the in-memory
//! registry that maps samples to series ids without allocating.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::idmap::{IdHasher, IdMap};

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

/// Hash of a series identity, computed from borrowed parts.
pub(crate) fn identity_hash(node: &str, name: &str, labels: &BTreeMap<String, String>) -> u64 {
    let mut h = DefaultHasher::new();
    node.hash(&mut h);
    name.hash(&mut h);
    labels.hash(&mut h);
    h.finish()
}

/// Canonical text of a label set (JSON, keys sorted).
pub(crate) fn labels_text(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}

/// Every known series, by id and by identity.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    by_id: IdMap<Arc<SeriesInfo>>,
    /// Keyed by [`identity_hash`], already a hash.
    by_hash: HashMap<u64, Vec<i64>, BuildHasherDefault<IdHasher>>,
}

impl Registry {
    /// The id of a series, if known.
    pub fn lookup(&self, node: &str, name: &str, labels: &BTreeMap<String, String>) -> Option<i64> {
        let ids = self.by_hash.get(&identity_hash(node, name, labels))?;
        ids.iter().copied().find(|id| {
            self.by_id
                .get(id)
                .is_some_and(|s| s.node == node && s.name == name && s.labels == *labels)
        })
    }

    /// A series by id.
    pub fn get(&self, id: i64) -> Option<&SeriesInfo> {
        self.by_id.get(&id).map(|s| &**s)
    }

    /// Adds a series.
    pub fn insert(&mut self, info: SeriesInfo) {
        let hash = identity_hash(&info.node, &info.name, &info.labels);
        self.by_hash.entry(hash).or_default().push(info.id);
        self.by_id.insert(info.id, Arc::new(info));
    }

    /// The selected series, by id.
    pub fn select(&self, selector: &SeriesSelector) -> Vec<Arc<SeriesInfo>> {
        let mut out: Vec<_> = self
            .by_id
            .values()
            .filter(|s| selector.matches(s))
            .cloned()
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Every series id.
    pub fn ids(&self) -> Vec<i64> {
        self.by_id.keys().copied().collect()
    }

    /// Every series of a node, by id.
    pub fn of_node(&self, node: &str) -> Vec<Arc<SeriesInfo>> {
        let mut out: Vec<_> = self
            .by_id
            .values()
            .filter(|s| s.node == node)
            .cloned()
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: i64, node: &str, project: Option<&str>) -> SeriesInfo {
        SeriesInfo {
            id,
            node: node.into(),
            name: "cpu".into(),
            labels: project
                .map(|p| BTreeMap::from([("project".to_string(), p.to_string())]))
                .unwrap_or_default(),
        }
    }

    #[test]
    fn lookup_and_select() {
        let mut r = Registry::default();
        r.insert(info(1, "n1", None));
        r.insert(info(2, "n1", Some("shop")));
        r.insert(info(3, "n2", Some("shop")));
        let shop = BTreeMap::from([("project".to_string(), "shop".to_string())]);
        assert_eq!(r.lookup("n1", "cpu", &shop), Some(2));
        assert_eq!(r.lookup("n3", "cpu", &shop), None);
        let sel = SeriesSelector::metric("cpu").with_label("project", "shop");
        let ids: Vec<i64> = r.select(&sel).iter().map(|s| s.id).collect();
        assert_eq!(ids, [2, 3]);
        let ids: Vec<i64> = r.select(&sel.on_node("n2")).iter().map(|s| s.id).collect();
        assert_eq!(ids, [3]);
        assert_eq!(r.of_node("n1").len(), 2);
    }
}
