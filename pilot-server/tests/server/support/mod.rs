//! What the server's tests share: the app configs, git helpers, the API
//! through `oneshot` ([`api`]), scripted nodes behind a served API for the
//! client and the CLI ([`scripted`]), fake agents on a real agent listener
//! ([`agents`]) and real processes ([`processes`]). The server's parts are
//! assembled once, by `pilot_server::testing::TestServer`.

pub mod agents;
pub mod api;
pub mod flows;
pub mod processes;
pub mod scripted;

/// A valid app config referring to the secret `DB_PASSWORD`.
pub const CONFIG: &str = r#"{
  "name": "Shop",
  "type": "python",
  "runtime": { "python": "3.11" },
  "start": { "command": "python app.py" },
  "env": { "DATABASE_URL": "postgresql://app:{{DB_PASSWORD}}@localhost/app", "MODE": "prod" }
}"#;

/// A config with two problems.
pub const BAD_CONFIG: &str = r#"{
  "name": "Shop",
  "type": "python",
  "runtime": { "python": "2.1" },
  "start": { "command": "" }
}"#;

/// Commits every file of the work tree on `main`; returns the commit id.
pub fn commit_all(repo: &git2::Repository, message: &str) -> String {
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write index");
    let tree_id = index.write_tree().expect("tree");
    let tree = repo.find_tree(tree_id).expect("find tree");
    let sig = git2::Signature::now("Pilot Test", "test@pilot.invalid").expect("signature");
    let parent = repo
        .head()
        .ok()
        .and_then(|h| h.target())
        .and_then(|id| repo.find_commit(id).ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo
        .commit(
            Some("refs/heads/main"),
            &sig,
            &sig,
            message,
            &tree,
            &parents,
        )
        .expect("commit");
    repo.set_head("refs/heads/main").expect("head");
    id.to_string()
}
