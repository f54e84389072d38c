//! A real API over a temporary SQLite store, real secrets and metrics
//! stores, fake nodes and the real deployer; requests go through
//! `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

pub mod flows;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use pilot_core::SecretStore;
use pilot_core::metrics::{ProcessSummary, TopProcesses};
use pilot_server::api::types::NodeConnection;
use pilot_server::api::{ApiSettings, AppParts, AppState, LoginPolicy, NodeInfo, router};
use pilot_server::deploy::Deployer;
use pilot_server::testing::FakeNodes;
use pilot_server::{EventBus, NodeLink};
use pilot_store::records::Role;
use pilot_store::{
    Database, MasterKey, SqlSecretStore, SqlStore, SqliteDurability, TimeseriesOptions,
    TimeseriesStore,
};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// The admin's password.
pub const ADMIN_PASSWORD: &str = "correct horse battery";
/// The viewer's password.
pub const VIEWER_PASSWORD: &str = "viewer password 1";

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

/// Connection details and process reports of the test's nodes.
pub struct FakeInfo;

impl NodeInfo for FakeInfo {
    fn top_processes(&self, node: &str) -> Option<TopProcesses> {
        (node == "web-1").then(|| TopProcesses {
            timestamp_ms: 1_700_000_000_000,
            by_cpu: vec![ProcessSummary {
                pid: 42,
                name: "gunicorn".into(),
                project: Some("shop".into()),
                cpu_percent: Some(12.5),
                rss_bytes: 50 << 20,
                threads: 3,
            }],
            by_memory: Vec::new(),
        })
    }

    fn connection(&self, node: &str) -> Option<NodeConnection> {
        (node == "web-1").then(|| NodeConnection {
            peer: "127.0.0.1:40000".into(),
            connected_ms: 1_700_000_000_000,
            agent_version: "0.1.0".into(),
            tls: false,
        })
    }
}

/// The API under test.
pub struct TestApi {
    pub dir: TempDir,
    pub state: AppState,
    pub app: Router,
    pub nodes: Arc<FakeNodes>,
    pub admin: String,
    pub viewer: String,
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl TestApi {
    /// An API with two registered nodes (web-1 online, web-2 offline), an
    /// admin `ada` and a viewer `vic`, both logged in.
    pub async fn new() -> Self {
        Self::build(FakeNodes::new(), |_| {}).await
    }

    /// Like [`TestApi::new`] with the given fake nodes and settings changes.
    pub async fn build(fake: FakeNodes, tune: impl FnOnce(&mut ApiSettings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open_sqlite(&dir.path().join("pilot.db"), SqliteDurability::Normal)
            .await
            .expect("open database");
        let store = SqlStore::new(db.clone());
        let secrets = Arc::new(SqlSecretStore::with_key(db.clone(), MasterKey::generate()));
        let metrics = Arc::new(
            TimeseriesStore::open(db, TimeseriesOptions::default())
                .await
                .expect("open timeseries"),
        );
        let fake = Arc::new(fake);
        fake.set_online("web-1", true);
        let link: Arc<dyn NodeLink> = fake.clone();
        let events = EventBus::default();
        let deployer = Deployer::new(
            store.clone(),
            secrets.clone() as Arc<dyn SecretStore>,
            link.clone(),
            events.clone(),
        );
        let mut settings = ApiSettings::new(
            b"test signing key of thirty-two bytes!".to_vec(),
            dir.path(),
        );
        settings.login_policy = LoginPolicy {
            free_failures: 3,
            ..LoginPolicy::default()
        };
        tune(&mut settings);
        store.register_node("web-1").await.expect("node web-1");
        store.register_node("web-2").await.expect("node web-2");
        store
            .create_user("ada", ADMIN_PASSWORD, Role::Admin)
            .await
            .expect("admin");
        store
            .create_user("vic", VIEWER_PASSWORD, Role::Viewer)
            .await
            .expect("viewer");
        let state = AppState::new(AppParts {
            store,
            secrets,
            metrics,
            nodes: link,
            node_info: Arc::new(FakeInfo),
            deployer,
            events,
            settings,
        });
        let app = router(state.clone());
        let mut api = TestApi {
            dir,
            state,
            app,
            nodes: fake,
            admin: String::new(),
            viewer: String::new(),
        };
        api.admin = api.login("ada", ADMIN_PASSWORD).await;
        api.viewer = api.login("vic", VIEWER_PASSWORD).await;
        api
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                json_body(&serde_json::json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login {username}: {}",
            reply.text()
        );
        reply.json()["token"].as_str().expect("token").to_string()
    }

    /// Sends a request.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Body) -> Reply {
        self.send(request(method, path, token, body)).await
    }

    /// Sends a JSON request (or none with `Value::Null`) as `token`.
    pub async fn json(&self, method: Method, path: &str, token: &str, body: Value) -> Reply {
        let body = if body.is_null() {
            Body::empty()
        } else {
            json_body(&body)
        };
        self.call(method, path, Some(token), body).await
    }

    /// GET as `token`.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), Body::empty())
            .await
    }

    /// Sends a prepared request.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Creates a git repository holding `config` (and an app file) and
    /// returns its path.
    pub fn git_repo(&self, name: &str, config: &str) -> PathBuf {
        let path = self.dir.path().join("repos").join(name);
        std::fs::create_dir_all(&path).expect("repo dir");
        let repo = git2::Repository::init(&path).expect("git init");
        std::fs::write(path.join("config.vpspilot.json"), config).expect("config");
        std::fs::write(path.join("app.py"), "print('hello')\n").expect("app");
        commit_all(&repo, "first");
        path
    }
}

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

/// A request with an optional bearer token.
pub fn request(method: Method, path: &str, token: Option<&str>, body: Body) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50_000))));
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(body).expect("request")
}

/// A JSON body.
pub fn json_body(value: &Value) -> Body {
    Body::from(serde_json::to_vec(value).expect("json"))
}

/// A zip archive of `files` (name, content).
pub fn zip_archive(files: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, content) in files {
        writer.start_file(*name, options).expect("zip entry");
        writer.write_all(content.as_bytes()).expect("zip write");
    }
    writer.finish().expect("zip finish").into_inner()
}

/// A `.tar.gz` archive of `files` (name, content).
pub fn tar_gz_archive(files: &[(&str, &str)]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, Path::new(name), content.as_bytes())
            .expect("tar entry");
    }
    builder
        .into_inner()
        .expect("tar finish")
        .finish()
        .expect("gzip finish")
}
