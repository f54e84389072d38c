//! Registry behaviour: lookups, selections, ids, and agreement with a plain
//! list of series on random input.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use super::footprint::{AGENT_SERIES, agent_series};
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

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn series(id: i64, node: &str, name: &str, pairs: &[(&str, &str)]) -> SeriesInfo {
    SeriesInfo {
        id,
        node: node.into(),
        name: name.into(),
        labels: labels(pairs),
    }
}

fn ids(series: &[Arc<SeriesInfo>]) -> Vec<i64> {
    series.iter().map(|s| s.id).collect()
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
    assert_eq!(ids(&r.select(&sel)), [2, 3]);
    assert_eq!(ids(&r.select(&sel.on_node("n2"))), [3]);
    assert_eq!(r.of_node("n1").len(), 2);
}

#[test]
fn many_series_share_their_strings() {
    let mut r = Registry::default();
    let nodes = 200;
    let mut id = 0;
    for node in 0..nodes {
        for index in 0..AGENT_SERIES.len() {
            id += 1;
            r.insert(agent_series(id, node, index));
        }
    }
    let names: std::collections::BTreeSet<_> = AGENT_SERIES.iter().map(|(n, _)| n).collect();
    // Node names, metric names, and the label strings (device, eth0, lo,
    // mount, /, /var, project, shop, blog).
    assert_eq!(r.strings_len(), nodes + names.len() + 9);
    // None, two devices, two mounts, two projects.
    assert_eq!(r.label_sets_len(), 7);
    let mut id = 0;
    for node in 0..nodes {
        for index in 0..AGENT_SERIES.len() {
            id += 1;
            let s = agent_series(id, node, index);
            assert_eq!(r.lookup(&s.node, &s.name, &s.labels), Some(id));
            assert_eq!(r.node_of(id), Some(s.node.as_str()));
        }
    }
    let node = r.of_node("node-00042");
    let expected: Vec<SeriesInfo> = (0..AGENT_SERIES.len())
        .map(|index| agent_series(42 * 40 + index as i64 + 1, 42, index))
        .collect();
    let got: Vec<SeriesInfo> = node.iter().map(|s| (**s).clone()).collect();
    assert_eq!(got, expected);
}

#[test]
fn lookup_needs_the_exact_label_map() {
    let mut r = Registry::default();
    r.insert(series(
        1,
        "n1",
        "disk",
        &[("device", "sda"), ("mount", "/")],
    ));
    r.insert(series(2, "n1", "disk", &[]));
    let l = |pairs: &[(&str, &str)]| labels(pairs);
    let both = l(&[("device", "sda"), ("mount", "/")]);
    assert_eq!(r.lookup("n1", "disk", &both), Some(1));
    assert_eq!(r.lookup("n1", "disk", &l(&[])), Some(2));
    // Subset, superset, another value, another key.
    assert_eq!(r.lookup("n1", "disk", &l(&[("device", "sda")])), None);
    assert_eq!(r.lookup("n1", "disk", &l(&[("mount", "/")])), None);
    let more = l(&[("device", "sda"), ("mount", "/"), ("fs", "ext4")]);
    assert_eq!(r.lookup("n1", "disk", &more), None);
    let other = l(&[("device", "sdb"), ("mount", "/")]);
    assert_eq!(r.lookup("n1", "disk", &other), None);
    let swapped = l(&[("device", "/"), ("mount", "sda")]);
    assert_eq!(r.lookup("n1", "disk", &swapped), None);
    // Another node or name, and known strings in the wrong place.
    assert_eq!(r.lookup("n2", "disk", &both), None);
    assert_eq!(r.lookup("n1", "disks", &both), None);
    assert_eq!(r.lookup("disk", "n1", &both), None);
    assert_eq!(r.lookup("sda", "disk", &both), None);
}

#[test]
fn node_of_knows_every_id() {
    let mut r = Registry::default();
    r.insert(info(7, "n1", None));
    r.insert(info(8, "n2", Some("shop")));
    assert_eq!(r.node_of(7), Some("n1"));
    assert_eq!(r.node_of(8), Some("n2"));
    assert_eq!(r.node_of(9), None);
    assert_eq!(r.node_of(-7), None);
    assert_eq!(Registry::default().node_of(0), None);
}

#[test]
fn select_by_node_and_labels() {
    let mut r = Registry::default();
    // Inserted out of id order: results come back by id.
    r.insert(series(
        30,
        "n2",
        "net",
        &[("device", "eth0"), ("dir", "rx")],
    ));
    r.insert(series(
        10,
        "n1",
        "net",
        &[("device", "eth0"), ("dir", "rx")],
    ));
    r.insert(series(
        20,
        "n1",
        "net",
        &[("device", "eth0"), ("dir", "tx")],
    ));
    r.insert(series(40, "n1", "net", &[("device", "lo"), ("dir", "rx")]));
    r.insert(series(5, "n1", "cpu", &[("device", "eth0")]));
    let net = SeriesSelector::metric("net");
    assert_eq!(ids(&r.select(&net)), [10, 20, 30, 40]);
    assert_eq!(ids(&r.select(&net.clone().on_node("n1"))), [10, 20, 40]);
    let eth0 = net.clone().with_label("device", "eth0");
    assert_eq!(ids(&r.select(&eth0)), [10, 20, 30]);
    let eth0_rx = eth0.clone().with_label("dir", "rx");
    assert_eq!(ids(&r.select(&eth0_rx)), [10, 30]);
    assert_eq!(ids(&r.select(&eth0_rx.clone().on_node("n2"))), [30]);
    assert_eq!(ids(&r.select(&SeriesSelector::metric("cpu"))), [5]);
    // Nothing matches: an unknown name, node, key or value, or a known
    // string in the wrong place.
    let none: [SeriesSelector; 6] = [
        SeriesSelector::metric("disk"),
        net.clone().on_node("n3"),
        net.clone().on_node("eth0"),
        net.clone().with_label("device", "eth1"),
        net.clone().with_label("mount", "/"),
        net.clone().with_label("rx", "dir"),
    ];
    for sel in none {
        assert!(r.select(&sel).is_empty(), "{sel:?}");
    }
    let full = r.select(&eth0_rx.on_node("n1"));
    assert_eq!(
        *full[0],
        series(10, "n1", "net", &[("device", "eth0"), ("dir", "rx")])
    );
}

#[test]
fn of_node_lists_a_node_by_id() {
    let mut r = Registry::default();
    r.insert(series(3, "n1", "mem", &[]));
    r.insert(series(1, "n1", "cpu", &[("core", "0")]));
    r.insert(series(2, "n2", "n1", &[("node", "n1")]));
    let n1 = r.of_node("n1");
    assert_eq!(ids(&n1), [1, 3]);
    assert_eq!(*n1[0], series(1, "n1", "cpu", &[("core", "0")]));
    assert_eq!(ids(&r.of_node("n2")), [2]);
    // Known strings that name no node, and an unknown one.
    assert!(r.of_node("cpu").is_empty());
    assert!(r.of_node("core").is_empty());
    assert!(r.of_node("n3").is_empty());
}

#[test]
fn ids_may_be_negative_or_large() {
    let mut r = Registry::default();
    let edge = [i64::MIN, -1, 0, 1 << 40, i64::MAX];
    for (i, &id) in edge.iter().enumerate() {
        r.insert(series(id, "n", "m", &[("i", &i.to_string())]));
    }
    let mut all = r.ids();
    all.sort_unstable();
    assert_eq!(all, edge);
    for (i, &id) in edge.iter().enumerate() {
        let l = labels(&[("i", &i.to_string())]);
        assert_eq!(r.lookup("n", "m", &l), Some(id));
        assert_eq!(r.node_of(id), Some("n"));
    }
    assert_eq!(ids(&r.select(&SeriesSelector::metric("m"))), edge);
    assert_eq!(ids(&r.of_node("n")), edge);
    assert_eq!(r.node_of(2), None);
}

#[test]
fn a_known_id_takes_the_new_identity() {
    let mut r = Registry::default();
    r.insert(series(1, "n1", "cpu", &[]));
    r.insert(series(2, "n1", "mem", &[]));
    r.insert(series(3, "n1", "disk", &[]));
    r.insert(series(2, "n2", "mem", &[("kind", "rss")]));
    r.insert(series(2, "n2", "mem", &[("kind", "rss")]));
    assert_eq!(r.ids().len(), 3);
    assert_eq!(r.lookup("n1", "mem", &labels(&[])), None);
    assert_eq!(r.lookup("n2", "mem", &labels(&[("kind", "rss")])), Some(2));
    assert_eq!(r.node_of(2), Some("n2"));
    assert_eq!(ids(&r.of_node("n1")), [1, 3]);
    assert_eq!(ids(&r.of_node("n2")), [2]);
    assert_eq!(r.lookup("n1", "disk", &labels(&[])), Some(3));
}

#[test]
fn one_identity_under_two_ids_looks_up_the_first() {
    let mut r = Registry::default();
    r.insert(series(9, "n1", "cpu", &[]));
    r.insert(series(4, "n1", "cpu", &[]));
    assert_eq!(r.lookup("n1", "cpu", &labels(&[])), Some(9));
    assert_eq!(ids(&r.select(&SeriesSelector::metric("cpu"))), [4, 9]);
}

#[test]
fn stored_hashes_agree_with_identity_hash() {
    let mut r = Registry::default();
    let s = series(1, "n1", "net", &[("device", "eth0"), ("dir", "rx")]);
    r.insert(s.clone());
    assert_eq!(
        r.stored_identity_hash(1),
        Some(identity_hash(&s.node, &s.name, &s.labels))
    );
}

/// A series drawn from small alphabets, so that identities collide often.
fn arb_series() -> impl Strategy<Value = (String, String, BTreeMap<String, String>)> {
    let word = || prop::sample::select(vec!["a", "b", "c", ""]).prop_map(String::from);
    (
        word(),
        word(),
        prop::collection::btree_map(word(), word(), 0..3),
    )
}

proptest! {
    #[test]
    fn agrees_with_a_plain_list(
        inserted in prop::collection::vec((-3i64..40, arb_series()), 0..60),
        probes in prop::collection::vec(arb_series(), 0..20),
    ) {
        let mut r = Registry::default();
        // The plain model: the latest identity of each id, in insertion order.
        let mut list: Vec<SeriesInfo> = Vec::new();
        for (id, (node, name, labels)) in inserted {
            let s = SeriesInfo { id, node, name, labels };
            r.insert(s.clone());
            match list.iter_mut().find(|known| known.id == id) {
                Some(known) => *known = s,
                None => list.push(s),
            }
        }
        let mut expected_ids: Vec<i64> = list.iter().map(|s| s.id).collect();
        let mut got_ids = r.ids();
        expected_ids.sort_unstable();
        got_ids.sort_unstable();
        prop_assert_eq!(got_ids, expected_ids);
        let mut probes = probes;
        probes.extend(list.iter().map(|s| (s.node.clone(), s.name.clone(), s.labels.clone())));
        let selected = |pred: &dyn Fn(&SeriesInfo) -> bool| {
            let mut out: Vec<SeriesInfo> = list.iter().filter(|s| pred(s)).cloned().collect();
            out.sort_by_key(|s| s.id);
            out
        };
        let built = |series: Vec<Arc<SeriesInfo>>| -> Vec<SeriesInfo> {
            series.iter().map(|s| (**s).clone()).collect()
        };
        for (node, name, labels) in &probes {
            // The first registered of the ids with this identity.
            let first = list
                .iter()
                .find(|s| s.node == *node && s.name == *name && s.labels == *labels)
                .map(|s| s.id);
            prop_assert_eq!(r.lookup(node, name, labels), first);
            let mut selector = SeriesSelector::metric(name.clone()).on_node(node.clone());
            selector.labels = labels.iter().take(1).map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(built(r.select(&selector)), selected(&|s| selector.matches(s)));
            selector.node = None;
            prop_assert_eq!(built(r.select(&selector)), selected(&|s| selector.matches(s)));
            prop_assert_eq!(built(r.of_node(node)), selected(&|s| s.node == *node));
        }
        for s in &list {
            prop_assert_eq!(r.node_of(s.id), Some(s.node.as_str()));
        }
    }
}
