//! Per-service figures of spawned process trees against the sum of their
//! members, read by the test; and services run by the embedded supervisor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_core::ServiceManager;
use pilot_core::service::{RestartPolicy, ServiceSpec};
use pilot_core::supervisor::Supervisor;
use pilot_metrics::{Collector, CollectorOptions, ManagedServices, ServiceTarget, ServiceTargets};

use crate::common::*;

/// A parent with two busy children, and a third busy child that moved to a
/// session of its own (as a daemonizing process would).
const TREE: &str =
    "busy() { while :; do :; done; }; busy & busy & setsid sh -c 'while :; do :; done' & wait";

/// Sum of (CPU ticks, threads, resident pages) over `pids`.
fn member_totals(pids: &[u32]) -> (u64, u64, u64) {
    pids.iter().fold((0, 0, 0), |(cpu, threads, pages), pid| {
        let (_, _, ticks, t) = pid_stat(*pid).unwrap();
        (cpu + ticks, threads + t, pages + resident_pages(*pid))
    })
}

#[test]
fn a_process_tree_sums_its_members() {
    let tree = ProcessTree::spawn(TREE);
    let root = tree.pid();
    // The third child is forked before it calls setsid: wait for both.
    let in_root_session = |members: &[u32]| {
        members
            .iter()
            .filter(|p| pid_stat(**p).is_some_and(|stat| stat.1 == root))
            .count()
    };
    wait_for(
        "the tree's four processes, one in a session of its own",
        Duration::from_secs(10),
        || {
            let members = tree_of(root);
            members.len() == 4 && in_root_session(&members) == 3
        },
    );
    let members = tree_of(root);
    assert_eq!(in_root_session(&members), 3, "one member left the session");

    let target = ServiceTarget::process("tree-g4", root);
    let mut c = Collector::new(CollectorOptions::default()).unwrap();
    c.collect(std::slice::from_ref(&target)).unwrap();
    let (cpu_before, ..) = member_totals(&members);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let snap = c.collect(std::slice::from_ref(&target)).unwrap().clone();
    let (cpu_after, threads, pages) = member_totals(&members);
    let secs = t0.elapsed().as_secs_f64();

    let usage = &snap.services[0];
    assert_eq!(
        (usage.service.as_str(), usage.project.as_str()),
        ("tree-g4", "tree")
    );
    assert_eq!(usage.processes, 4);
    assert_eq!(usage.threads, threads);
    let rss = pages * page_size();
    println!("service rss: collector {} members {rss}", usage.rss_bytes);
    assert!(
        usage.rss_bytes.abs_diff(rss) <= rss / 100,
        "rss {} vs members {rss}",
        usage.rss_bytes
    );
    let expected = (cpu_after - cpu_before) as f64 / ticks_per_sec() / secs * 100.0;
    let got = usage.cpu_percent.unwrap();
    // Each member's ticks may be off by one at each end of the window.
    let tolerance = 2.0 * members.len() as f64 * 100.0 / ticks_per_sec() / secs + 3.0;
    println!("service cpu: collector {got:.1}% members {expected:.1}% (tolerance {tolerance:.1})");
    assert!((got - expected).abs() <= tolerance);
    assert!(
        got > 50.0,
        "three busy loops use well over half a core: {got}"
    );
    let busy_listed = snap
        .top_cpu
        .iter()
        .filter(|p| members.contains(&p.pid))
        .inspect(|p| assert_eq!(p.project.as_deref(), Some("tree")))
        .count();
    assert!(busy_listed >= 1, "{:?}", snap.top_cpu);
}

#[test]
fn generations_and_cgroups_are_attributed_to_their_project() {
    let blue = ProcessTree::spawn("sleep 600 & sleep 600 & wait");
    let green = ProcessTree::spawn("sleep 600 & wait");
    wait_for("both trees", Duration::from_secs(10), || {
        tree_of(blue.pid()).len() == 3 && tree_of(green.pid()).len() == 2
    });
    // A service manager's cgroup, as a directory of `cgroup.procs` files.
    let cgroup = tempfile::tempdir().unwrap();
    std::fs::write(
        cgroup.path().join("cgroup.procs"),
        format!("{}\n", green.pid()),
    )
    .unwrap();
    let targets = [
        ServiceTarget::process("shop-g1", blue.pid()),
        ServiceTarget::cgroup("shop-g2", cgroup.path()),
    ];
    let mut c = Collector::new(CollectorOptions::default()).unwrap();
    let snap = c.collect(&targets).unwrap().clone();
    assert_eq!(snap.services[0].processes, 3);
    assert_eq!(snap.services[1].processes, 2);
    let batch = snap.to_batch("n");
    let procs: Vec<_> = batch
        .samples
        .iter()
        .filter(|s| s.name == "service_processes")
        .collect();
    assert_eq!(procs.len(), 1);
    assert_eq!(procs[0].labels["project"], "shop");
    assert_eq!(procs[0].value, 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_of_the_embedded_supervisor_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::open(dir.path().join("run")).await.unwrap();
    let spec = ServiceSpec {
        name: "shop-g7".into(),
        command: "busy() { while :; do :; done; }; busy & sleep 600 & wait".into(),
        cwd: dir.path().into(),
        env: [("PATH".to_string(), "/usr/bin:/bin".to_string())].into(),
        log_file: dir.path().join("shop.log"),
        restart: RestartPolicy::default(),
        stop_timeout: Duration::from_secs(2),
        redact: vec![],
        memory_limit: None,
        cpu_limit: None,
    };
    supervisor.install(&spec).await.unwrap();
    supervisor.start("shop-g7").await.unwrap();
    let source = ManagedServices::new(supervisor.clone() as Arc<dyn ServiceManager>);
    let targets = source.targets().await.unwrap();
    assert_eq!(targets.len(), 1);
    let root = targets[0].root_pid.unwrap();
    wait_for("the service's children", Duration::from_secs(10), || {
        tree_of(root).len() == 3
    });

    let mut c = Collector::new(CollectorOptions::default()).unwrap();
    c.collect(&targets).unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let snap = c.collect(&targets).unwrap().clone();
    supervisor.remove("shop-g7").await.unwrap();

    let usage = &snap.services[0];
    assert_eq!(usage.project, "shop");
    assert_eq!(usage.processes, 3);
    assert!(usage.cpu_percent.unwrap() > 20.0, "{usage:?}");
    assert!(usage.rss_bytes > 0);
    assert!(
        ManagedServices::new(supervisor as Arc<dyn ServiceManager>)
            .targets()
            .await
            .unwrap()
            .is_empty()
    );
}
