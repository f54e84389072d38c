use super::*;

fn dir(name: &str) -> RawEntry {
    RawEntry {
        name: name.as_bytes().to_vec(),
        kind: RawKind::Dir,
    }
}

fn file(name: &str) -> RawEntry {
    RawEntry {
        name: name.as_bytes().to_vec(),
        kind: RawKind::File { executable: false },
    }
}

fn link(name: &str, target: &str) -> RawEntry {
    RawEntry {
        name: name.as_bytes().to_vec(),
        kind: RawKind::Symlink {
            target: target.as_bytes().to_vec(),
        },
    }
}

fn hard(name: &str, target: &str) -> RawEntry {
    RawEntry {
        name: name.as_bytes().to_vec(),
        kind: RawKind::HardLink {
            target: target.as_bytes().to_vec(),
        },
    }
}

fn check(raw: &[RawEntry], strip: bool) -> Result<Plan, SourceError> {
    Plan::check(raw, strip, &FetchLimits::default())
}

fn unsafe_entry(result: Result<Plan, SourceError>) -> (String, String) {
    match result {
        Err(SourceError::UnsafeEntry { entry, reason }) => (entry, reason),
        other => panic!("expected an unsafe entry, got {other:?}"),
    }
}

fn paths(plan: &Plan) -> Vec<String> {
    plan.entries().map(|e| e.path.to_string()).collect()
}

#[test]
fn single_top_dir_is_stripped_and_implied_dirs_are_counted() {
    let plan = check(
        &[
            dir("app/"),
            file("app/a"),
            file("app/src/b"),
            link("app/l", "a"),
        ],
        true,
    )
    .expect("safe");
    assert_eq!(paths(&plan), ["a", "src/b", "l"]);
    assert_eq!(plan.count(), 4);
    assert!(plan.entry(0).is_none());
}

#[test]
fn two_top_entries_or_a_top_file_are_not_stripped() {
    let plan = check(&[file("app/a"), file("other/b")], true).expect("safe");
    assert_eq!(paths(&plan), ["app/a", "other/b"]);
    let plan = check(&[file("app")], true).expect("safe");
    assert_eq!(paths(&plan), ["app"]);
    let plan = check(&[file("app/a")], false).expect("safe");
    assert_eq!(paths(&plan), ["app/a"]);
}

#[test]
fn symlink_escaping_after_strip_is_refused() {
    let (entry, reason) = unsafe_entry(check(&[file("app/a"), link("app/up", "../x")], true));
    assert_eq!(entry, "app/up");
    assert!(reason.contains("outside"), "{reason}");
}

#[test]
fn symlink_chains_are_followed() {
    // `d/l1` points at the root; `l2` goes through it and then one level up.
    let (entry, _) = unsafe_entry(check(
        &[dir("d"), link("d/l1", ".."), link("l2", "d/l1/..")],
        false,
    ));
    assert_eq!(entry, "l2");
    let plan = check(&[dir("d"), link("d/l1", ".."), link("l2", "d/l1/d")], false).expect("inside");
    assert_eq!(plan.count(), 3);
}

#[test]
fn circular_symlinks_are_refused() {
    let (_, reason) = unsafe_entry(check(&[link("a", "b/x"), link("b", "a/y")], false));
    assert!(reason.contains("circular"), "{reason}");
}

#[test]
fn writing_through_a_symlink_or_a_file_is_refused() {
    let (entry, reason) = unsafe_entry(check(&[link("l", "."), file("l/x")], false));
    assert_eq!(entry, "l/x");
    assert!(reason.contains("symlink"), "{reason}");
    // The order does not matter: the later symlink replaces an earlier directory.
    let (entry, _) = unsafe_entry(check(&[file("d/x"), link("d", ".")], false));
    assert_eq!(entry, "d/x");
    let (_, reason) = unsafe_entry(check(&[file("f"), file("f/x")], false));
    assert!(reason.contains("not a directory"), "{reason}");
}

#[test]
fn duplicates_are_refused_except_directories() {
    let (_, reason) = unsafe_entry(check(&[file("a"), file("a")], false));
    assert!(reason.contains("more than once"), "{reason}");
    check(&[dir("a"), dir("a/"), file("a/b")], false).expect("repeated directory");
}

#[test]
fn hard_links_must_point_at_an_earlier_file_inside() {
    check(&[file("top/a"), hard("top/b", "top/a")], true).expect("safe link");
    let (entry, _) = unsafe_entry(check(&[hard("b", "a"), file("a")], false));
    assert_eq!(entry, "b");
    let (_, reason) = unsafe_entry(check(&[file("a"), hard("b", "../etc/passwd")], false));
    assert!(reason.contains(".."), "{reason}");
    let (_, reason) = unsafe_entry(check(&[file("a"), hard("b", "/etc/passwd")], false));
    assert!(reason.contains("absolute"), "{reason}");
}

#[test]
fn non_directory_root_entry_is_refused() {
    unsafe_entry(check(&[file("./")], false));
}

#[test]
fn too_many_paths_counts_implied_directories() {
    let limits = FetchLimits {
        max_bytes: 1,
        max_files: 2,
    };
    let err = Plan::check(&[file("a/b/c")], false, &limits).expect_err("3 paths");
    assert!(matches!(err, SourceError::TooManyFiles { limit: 2 }));
}
