//! The API under test through `tower::ServiceExt::oneshot`: a
//! [`TestServer`] with nodes web-1 (online) and web-2 (offline), process
//! and connection reports for web-1, and the users logged in.

use std::io::Write;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use pilot_core::metrics::{ProcessSummary, TopProcesses};
use pilot_server::api::types::NodeConnection;
use pilot_server::api::{AgentFacts, ApiSettings, LoginPolicy};
use pilot_server::testing::{FakeNodes, TestServer};
use serde_json::Value;
use tower::ServiceExt;

pub use super::{BAD_CONFIG, CONFIG, commit_all};
pub use pilot_server::testing::{ADMIN_PASSWORD, VIEWER_PASSWORD};

/// Connection details and process reports of the test's nodes.
pub struct FakeAgentFacts;

impl AgentFacts for FakeAgentFacts {
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

/// The API under test, with the tokens of `ada` (admin) and `vic`
/// (viewer); the server's parts are reached through `Deref`.
pub struct TestApi {
    pub server: TestServer,
    pub app: Router,
    pub admin: String,
    pub viewer: String,
}

impl Deref for TestApi {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
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
    pub async fn build(
        fake: FakeNodes,
        tune: impl FnOnce(&mut ApiSettings) + Send + 'static,
    ) -> Self {
        let server = TestServer::builder()
            .nodes(fake)
            .node("web-1", true)
            .node("web-2", false)
            .agent_facts(FakeAgentFacts)
            .settings(|settings| {
                settings.login_policy = LoginPolicy {
                    free_failures: 3,
                    ..LoginPolicy::default()
                };
            })
            .settings(tune)
            .build()
            .await;
        let app = server.router();
        let mut api = TestApi {
            server,
            app,
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

    /// GET a dashboard page as a browser signed in with `token` would.
    pub async fn page(&self, path: &str, token: &str) -> Reply {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("cookie", format!("pilot_session={token}"))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
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
