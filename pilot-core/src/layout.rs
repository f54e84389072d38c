//! Where things live on a node, under one data directory.
//!
//! ```text
//! <root>/
//! ├── projects/<project>/
//! │   ├── releases/<gen>-<version>/   one kept generation (source, build output, .env)
//! │   ├── current -> releases/…       the live release, switched by rename
//! │   ├── state.json                  generations, live release, public port
//! │   ├── deployments/<id>.json       the journal of each deployment
//! │   └── lock                        held while a deployment runs
//! ├── logs/<project>/                 service logs (per release) and deploy logs
//! ├── backups/                        archives of removed projects
//! ├── cache/                          shared caches
//! └── run/                            supervisor and proxy state
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The node layout rooted at a data directory (`/opt/vpspilot` in production).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLayout {
    root: PathBuf,
}

impl NodeLayout {
    /// A layout rooted at `root` (not created until used).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        NodeLayout { root: root.into() }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `projects/`.
    pub fn projects_dir(&self) -> PathBuf {
        self.root.join("projects")
    }

    /// `projects/<project>/`.
    pub fn project_dir(&self, project: &str) -> PathBuf {
        self.projects_dir().join(project)
    }

    /// `projects/<project>/releases/`.
    pub fn releases_dir(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("releases")
    }

    /// `projects/<project>/releases/<gen>-<version>/`.
    pub fn release_dir(&self, project: &str, generation: u64, version: &str) -> PathBuf {
        self.releases_dir(project)
            .join(ReleaseName::new(generation, version))
    }

    /// `projects/<project>/current`.
    pub fn current_link(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("current")
    }

    /// `projects/<project>/state.json`.
    pub fn state_file(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("state.json")
    }

    /// `projects/<project>/deployments/`.
    pub fn deployments_dir(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("deployments")
    }

    /// `projects/<project>/lock`.
    pub fn lock_file(&self, project: &str) -> PathBuf {
        self.project_dir(project).join("lock")
    }

    /// `logs/<project>/`.
    pub fn logs_dir(&self, project: &str) -> PathBuf {
        self.root.join("logs").join(project)
    }

    /// `logs/<project>/deploy-<id>.log`.
    pub fn deploy_log(&self, project: &str, deployment: &str) -> PathBuf {
        self.logs_dir(project)
            .join(format!("deploy-{deployment}.log"))
    }

    /// `logs/<project>/app-g<gen>.log`.
    pub fn service_log(&self, project: &str, generation: u64) -> PathBuf {
        self.logs_dir(project)
            .join(format!("app-g{generation}.log"))
    }

    /// `backups/`.
    pub fn backups_dir(&self) -> PathBuf {
        self.root.join("backups")
    }

    /// `cache/`.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// `run/`.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// `run/supervisor/`: the embedded supervisor's state.
    pub fn supervisor_dir(&self) -> PathBuf {
        self.run_dir().join("supervisor")
    }

    /// `run/proxy.sock`: the control socket of a separate proxy process.
    pub fn proxy_socket(&self) -> PathBuf {
        self.run_dir().join("proxy.sock")
    }

    /// Every project that has a directory on this node, sorted.
    pub fn projects(&self) -> Result<Vec<String>> {
        let dir = self.projects_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Checks that a project name is usable as a directory and service name:
/// 1–63 characters of `a-z`, `0-9` and `-`, starting with a letter or digit.
pub fn validate_project_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > 63 {
        Some("use 1 to 63 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("use only lowercase letters, digits and '-'")
    } else if name.starts_with('-') {
        Some("start with a letter or digit")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidProjectName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The name of a release directory, `<generation>-<version>` (e.g.
/// `3-abc1234`), under `projects/<project>/releases/`.
///
/// ```
/// use pilot_core::layout::ReleaseName;
///
/// let name = ReleaseName::new(3, "abc1234");
/// assert_eq!(name.as_str(), "3-abc1234");
/// assert_eq!(std::path::Path::new("releases").join(&name).to_str(), Some("releases/3-abc1234"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReleaseName(String);

impl ReleaseName {
    /// The name of generation `generation` with version label `version`.
    pub fn new(generation: u64, version: &str) -> Self {
        ReleaseName(format!("{generation}-{version}"))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReleaseName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<Path> for ReleaseName {
    fn as_ref(&self) -> &Path {
        Path::new(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_layout() {
        let l = NodeLayout::new("/data");
        assert_eq!(
            l.release_dir("shop", 3, "abc1234"),
            PathBuf::from("/data/projects/shop/releases/3-abc1234")
        );
        assert_eq!(
            l.current_link("shop"),
            PathBuf::from("/data/projects/shop/current")
        );
        assert_eq!(
            l.service_log("shop", 3),
            PathBuf::from("/data/logs/shop/app-g3.log")
        );
    }

    #[test]
    fn project_names() {
        assert!(validate_project_name("shop-2").is_ok());
        assert!(validate_project_name("").is_err());
        assert!(validate_project_name("Shop").is_err());
        assert!(validate_project_name("../x").is_err());
        assert!(validate_project_name("-x").is_err());
        assert!(validate_project_name(&"a".repeat(64)).is_err());
    }
}
