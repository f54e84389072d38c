//! Matching a [`GitRef`] against the refs a remote advertises.

use std::collections::BTreeMap;

use git2::Oid;

use super::{GitRef, SourceError};

/// Most names listed in a "not found" error.
const MAX_LISTED: usize = 10;

/// Shortest abbreviated commit id accepted.
const MIN_COMMIT_LEN: usize = 7;

/// Suffix of the advertised entry giving the commit an annotated tag points at.
const PEELED: &str = "^{}";

/// What a remote advertised on connect.
#[derive(Debug, Clone, Default)]
pub(crate) struct Advertised {
    /// Every advertised ref with its object id (peeled tags end in `^{}`).
    pub(crate) refs: Vec<(String, Oid)>,
    /// The remote's default branch, e.g. `refs/heads/main`.
    pub(crate) default_branch: Option<String>,
}

/// What to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// An advertised branch or tag.
    Ref {
        /// Its name on the remote, e.g. `refs/heads/main`.
        remote_ref: String,
        /// Where the fetch stores it locally.
        local_ref: String,
        /// The local branch to create and check out; `None` for a detached HEAD.
        branch: Option<String>,
    },
    /// A commit that is not at any advertised tip (lowercase hex, 7 to 40 digits).
    Commit {
        /// The id as given.
        id: String,
    },
}

impl Advertised {
    /// Resolves `reference`; `url` (credentials masked) is for errors.
    pub(crate) fn resolve(&self, reference: &GitRef, url: &str) -> Result<Wanted, SourceError> {
        match reference {
            GitRef::Default => {
                let Some(name) = self
                    .default_branch
                    .as_deref()
                    .and_then(|r| r.strip_prefix("refs/heads/"))
                else {
                    return Err(SourceError::NoDefaultBranch {
                        url: url.to_owned(),
                        available: self.names("refs/heads/"),
                    });
                };
                self.branch(name, url)
            }
            GitRef::Branch(name) => self.branch(name, url),
            GitRef::Tag(name) => {
                let remote_ref = format!("refs/tags/{name}");
                if !self.has(&remote_ref) {
                    return Err(SourceError::TagNotFound {
                        url: url.to_owned(),
                        tag: name.clone(),
                        available: self.names("refs/tags/"),
                    });
                }
                Ok(Wanted::Ref {
                    local_ref: remote_ref.clone(),
                    remote_ref,
                    branch: None,
                })
            }
            GitRef::Commit(id) => self.commit(id, url),
        }
    }

    /// An advertised branch.
    fn branch(&self, name: &str, url: &str) -> Result<Wanted, SourceError> {
        let remote_ref = format!("refs/heads/{name}");
        if !self.has(&remote_ref) {
            return Err(SourceError::BranchNotFound {
                url: url.to_owned(),
                branch: name.to_owned(),
                available: self.names("refs/heads/"),
            });
        }
        Ok(Wanted::Ref {
            remote_ref,
            local_ref: format!("refs/remotes/origin/{name}"),
            branch: Some(name.to_owned()),
        })
    }

    /// A commit: the branch or tag whose tip it is, else a commit to search for.
    fn commit(&self, id: &str, url: &str) -> Result<Wanted, SourceError> {
        let id = id.to_ascii_lowercase();
        if !(MIN_COMMIT_LEN..=40).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(SourceError::InvalidCommit {
                url: url.to_owned(),
                commit: id,
            });
        }
        let tips = self.commit_tips();
        let matching: Vec<(&String, &Oid)> = tips
            .iter()
            .filter(|(_, oid)| oid.to_string().starts_with(&id))
            .collect();
        let first = match matching.first() {
            None => return Ok(Wanted::Commit { id }),
            Some(first) => *first,
        };
        if matching.iter().any(|(_, oid)| *oid != first.1) {
            return Err(SourceError::AmbiguousCommit {
                url: url.to_owned(),
                commit: id,
            });
        }
        let (name, _) = matching
            .iter()
            .find(|(name, _)| name.starts_with("refs/heads/"))
            .unwrap_or(&first);
        let local_ref = match name.strip_prefix("refs/heads/") {
            Some(branch) => format!("refs/remotes/origin/{branch}"),
            None => (*name).clone(),
        };
        Ok(Wanted::Ref {
            remote_ref: (*name).clone(),
            local_ref,
            branch: None,
        })
    }

    /// Branch and tag names with the commit each points at (annotated tags peeled).
    fn commit_tips(&self) -> BTreeMap<String, Oid> {
        let mut tips = BTreeMap::new();
        for (name, oid) in &self.refs {
            if !(name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
                continue;
            }
            match name.strip_suffix(PEELED) {
                Some(tag) => {
                    tips.insert(tag.to_owned(), *oid);
                }
                None => {
                    tips.entry(name.clone()).or_insert(*oid);
                }
            }
        }
        tips
    }

    /// True when `name` was advertised.
    fn has(&self, name: &str) -> bool {
        self.refs.iter().any(|(n, _)| n == name)
    }

    /// Up to [`MAX_LISTED`] short names under `prefix`, sorted.
    fn names(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .refs
            .iter()
            .filter_map(|(n, _)| n.strip_prefix(prefix))
            .filter(|n| !n.ends_with(PEELED))
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names.truncate(MAX_LISTED);
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(hex: &str) -> Oid {
        Oid::from_str(hex).expect("valid oid")
    }

    fn advertised() -> Advertised {
        Advertised {
            refs: vec![
                (
                    "HEAD".into(),
                    oid("1111111111111111111111111111111111111111"),
                ),
                (
                    "refs/heads/main".into(),
                    oid("1111111111111111111111111111111111111111"),
                ),
                (
                    "refs/heads/feature".into(),
                    oid("2222222222222222222222222222222222222222"),
                ),
                (
                    "refs/tags/v1".into(),
                    oid("3333333333333333333333333333333333333333"),
                ),
                (
                    "refs/tags/v1^{}".into(),
                    oid("2222222222222222222222222222222222222222"),
                ),
                (
                    "refs/tags/lw".into(),
                    oid("1111111111111111111111111111111111111111"),
                ),
            ],
            default_branch: Some("refs/heads/main".into()),
        }
    }

    #[test]
    fn default_branch_and_branches_resolve() {
        let wanted = advertised()
            .resolve(&GitRef::Default, "u")
            .expect("default");
        assert_eq!(
            wanted,
            Wanted::Ref {
                remote_ref: "refs/heads/main".into(),
                local_ref: "refs/remotes/origin/main".into(),
                branch: Some("main".into()),
            }
        );
    }

    #[test]
    fn missing_branch_lists_what_exists() {
        let err = advertised()
            .resolve(&GitRef::Branch("nope".into()), "u")
            .expect_err("missing");
        match err {
            SourceError::BranchNotFound { available, .. } => {
                assert_eq!(available, ["feature", "main"])
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = advertised()
            .resolve(&GitRef::Tag("v9".into()), "u")
            .expect_err("missing");
        assert!(
            matches!(err, SourceError::TagNotFound { ref available, .. } if available == &["lw", "v1"])
        );
    }

    #[test]
    fn commits_at_tips_use_the_tip_ref() {
        let wanted = advertised()
            .resolve(&GitRef::Commit("2222222".into()), "u")
            .expect("tip");
        assert!(
            matches!(wanted, Wanted::Ref { ref remote_ref, .. } if remote_ref == "refs/heads/feature")
        );
        let wanted = advertised()
            .resolve(&GitRef::Commit("ABCDEF0".into()), "u")
            .expect("search");
        assert_eq!(
            wanted,
            Wanted::Commit {
                id: "abcdef0".into()
            }
        );
        // The tag object id of an annotated tag is not a commit tip.
        let wanted = advertised()
            .resolve(&GitRef::Commit("3333333".into()), "u")
            .expect("search");
        assert!(matches!(wanted, Wanted::Commit { .. }));
    }

    #[test]
    fn bad_commit_ids_are_refused() {
        for id in ["123456", "xyz1234", &"a".repeat(41)] {
            let err = advertised()
                .resolve(&GitRef::Commit(id.into()), "u")
                .expect_err("invalid");
            assert!(matches!(err, SourceError::InvalidCommit { .. }), "{id}");
        }
    }

    #[test]
    fn no_default_branch_is_reported() {
        let mut refs = advertised();
        refs.default_branch = None;
        let err = refs.resolve(&GitRef::Default, "u").expect_err("none");
        assert!(matches!(err, SourceError::NoDefaultBranch { .. }));
    }
}
