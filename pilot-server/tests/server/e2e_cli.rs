//! The whole product loop through the `pilot` CLI against real processes on
//! loopback: a server, two agents with their own data dirs, a git daemon.
//! Enrol, create a project from git, set a secret, deploy, push and deploy
//! again, deploy through the GitHub webhook (a bad signature is refused),
//! roll back, read and follow logs, query metrics — and the secret's value
//! appears in no response, no log and no file but the apps' env files.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::processes::*;
use hmac::{KeyInit, Mac};

const SECRET: &str = "s3cr3t-e2e-value-7f3a9c";
const ADMIN_PASSWORD: &str = "e2e-admin-password";

/// A copy of python-hello whose env takes a secret.
fn app_with_secret(root: &Path) -> std::path::PathBuf {
    let app = root.join("app-src");
    copy_dir(&python_hello(), &app);
    let config = r#"{
  "name": "Shop",
  "type": "python",
  "runtime": { "python": "3.11" },
  "build": { "commands": ["python3 -m py_compile app.py"] },
  "start": { "command": "exec python3 app.py" },
  "env": { "GREETING": "hello", "API_TOKEN": "{{API_TOKEN}}" },
  "deployment": {
    "healthcheck_path": "/health",
    "healthcheck_interval": 1,
    "healthcheck_timeout": 2,
    "healthcheck_retries": 2,
    "watch_seconds": 1,
    "drain_seconds": 1
  }
}
"#;
    std::fs::write(app.join("config.vpspilot.json"), config).unwrap();
    std::fs::write(app.join("VERSION"), "v1\n").unwrap();
    // Log every request, so that a log follow has lines to see.
    let code = std::fs::read_to_string(app.join("app.py")).unwrap();
    let code = code.replace(
        "    def log_message(self, fmt, *args):\n        pass",
        "    def log_message(self, fmt, *args):\n        print(fmt % args, flush=True)",
    );
    assert!(code.contains("print(fmt % args"), "app.py changed shape");
    std::fs::write(app.join("app.py"), code).unwrap();
    app
}

fn login(home: &Path, server: &str) {
    let mut child = Command::new(pilot_bin())
        .args([
            "--server",
            server,
            "login",
            "--user",
            "admin",
            "--password-stdin",
        ])
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{ADMIN_PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The session token the CLI saved.
fn saved_token(home: &Path) -> String {
    let path = home.join("config/pilot/client.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["token"].as_str().expect("a saved token").to_string()
}

fn start_agent(
    root: &Path,
    name: &str,
    enrolment: &serde_json::Value,
    agent_addr: &str,
    ip: &str,
) -> Proc {
    let dir = root.join(format!("node-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, enrolment["token"].as_str().unwrap()).unwrap();
    let fingerprint = enrolment["agent_command"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .skip_while(|w| !w.contains("fingerprint"))
        .nth(1)
        .expect("the enrolment names the certificate fingerprint")
        .to_string();
    let mut command = Command::new(agent_bin());
    command
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--server", agent_addr, "--token-file"])
        .arg(&token_file)
        .args([
            "--tls-fingerprint",
            &fingerprint,
            "--public-ip",
            ip,
            "--runtime",
            "host",
        ])
        .env("PILOT_LOG", "info");
    Proc::spawn(&format!("agent-{name}"), command)
}

fn webhook(
    api: &str,
    project: &str,
    secret: &str,
    body: &str,
    signature: Option<String>,
) -> (u16, String) {
    let signature = signature.unwrap_or_else(|| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    });
    let mut stream = std::net::TcpStream::connect(api).unwrap();
    write!(
        stream,
        "POST /api/v1/webhooks/github/{project} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: push\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response)
}

fn api_get(api: &str, token: &str, path: &str) -> serde_json::Value {
    let mut stream = std::net::TcpStream::connect(api).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {api}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "GET {path}: {response}"
    );
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn answer(ip: &str, port: u16) -> String {
    http_get(&format!("{ip}:{port}"), "/")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

#[test]
fn the_whole_loop_through_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (api_port, agent_port, app_port) = (free_port(), free_port(), free_port());
    let api = format!("127.0.0.1:{api_port}");
    let agent_addr = format!("127.0.0.1:{agent_port}");
    let server_url = format!("http://{api}");
    let mut outputs: Vec<String> = Vec::new();

    // The server.
    let mut serve = Command::new(pilot_bin());
    serve
        .arg("serve")
        .arg("--data")
        .arg(root.join("server"))
        .args(["--listen", &api, "--agent-listen", &agent_addr])
        .env("PILOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("PILOT_LOG", "info");
    let server = Proc::spawn("server", serve);
    wait_listening(&api, Duration::from_secs(30));
    login(&home, &server_url);

    // Two nodes, each with its own agent process and data dir; apps listen
    // on their own loopback address so both can use the same public port.
    let a = pilot_json(&home, &["node", "add", "a"]);
    let b = pilot_json(&home, &["node", "add", "b"]);
    let agent_a = start_agent(root, "a", &a, &agent_addr, "127.0.0.2");
    let agent_b = start_agent(root, "b", &b, &agent_addr, "127.0.0.3");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let nodes = pilot_json(&home, &["node", "list"]);
        let online = nodes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["online"] == true)
            .count();
        if online == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "agents did not connect: {nodes}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A project from a repository on a local git server, with a secret.
    let app = app_with_secret(root);
    let repo = GitServer::start(root, &app);
    let port = app_port.to_string();
    outputs.push(pilot_ok(
        &home,
        &[
            "project",
            "create",
            "shop",
            "--git",
            &repo.url(),
            "--branch",
            "main",
            "--node",
            "a,b",
            "--port",
            &port,
        ],
    ));
    outputs.push(pilot_ok(
        &home,
        &["env", "set", "shop", "API_TOKEN", SECRET],
    ));
    let env = pilot_json(&home, &["env", "list", "shop"]);
    assert!(env.to_string().contains("API_TOKEN"), "{env}");

    // Deploy v1 on both nodes.
    let deployed = pilot_ok(&home, &["deploy", "shop"]);
    assert!(
        answer("127.0.0.2", app_port).contains("python-hello v1"),
        "deploy printed:\n{deployed}\nserver:\n{}",
        server.text()
    );
    outputs.push(deployed);
    assert!(answer("127.0.0.3", app_port).contains("python-hello v1"));

    // Push v2 and deploy it.
    repo.commit("VERSION", "v2\n", "v2");
    outputs.push(pilot_ok(&home, &["deploy", "shop"]));
    assert!(answer("127.0.0.2", app_port).contains("python-hello v2"));
    assert!(answer("127.0.0.3", app_port).contains("python-hello v2"));

    // The webhook: a bad signature is refused, a good one deploys v3.
    let token = saved_token(&home);
    let hook = api_get(&api, &token, "/api/v1/projects/shop/webhook");
    let hook_secret = hook["secret"].as_str().expect("webhook secret").to_string();
    let commit = repo.commit("VERSION", "v3\n", "v3");
    let body = serde_json::json!({
        "ref": "refs/heads/main",
        "after": commit,
        "repository": { "clone_url": repo.url() },
    })
    .to_string();
    let (status, response) = webhook(&api, "shop", &hook_secret, &body, Some("sha256=00".into()));
    assert_eq!(status, 401, "{response}");
    let (status, response) = webhook(&api, "shop", &hook_secret, &body, None);
    assert!(status == 202 || status == 200, "{response}");
    wait_http(
        &format!("127.0.0.2:{app_port}"),
        "/",
        "python-hello v3",
        Duration::from_secs(60),
    );
    wait_http(
        &format!("127.0.0.3:{app_port}"),
        "/",
        "python-hello v3",
        Duration::from_secs(60),
    );
    // Let the webhook's rollout finish before the rollback.
    std::thread::sleep(Duration::from_secs(3));

    // Roll back to v2.
    outputs.push(pilot_ok(&home, &["rollback", "shop"]));
    assert!(answer("127.0.0.2", app_port).contains("python-hello v2"));
    assert!(answer("127.0.0.3", app_port).contains("python-hello v2"));

    // Logs: the last lines, and a follow that sees a new request.
    let logs = pilot_ok(&home, &["logs", "shop", "-n", "50"]);
    assert!(logs.contains("python-hello v2 listening"), "{logs}");
    assert!(logs.contains("GET / HTTP/1.1"), "{logs}");
    outputs.push(logs);
    let mut follow_cmd = Command::new(pilot_bin());
    follow_cmd
        .args(["logs", "shop", "-n", "0", "-f"])
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", &home);
    let follow = Proc::spawn("logs-follow", follow_cmd);
    std::thread::sleep(Duration::from_secs(1));
    let _ = http_get(&format!("127.0.0.2:{app_port}"), "/followed-request");
    follow.wait_for("/followed-request", Duration::from_secs(30));
    outputs.push(follow.text());
    drop(follow);

    // Metrics of both nodes are queryable.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = pilot_json(&home, &["metrics", "a", "--since", "10m", "--step", "10s"]);
        if metrics.to_string().contains("cpu") {
            outputs.push(metrics.to_string());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no metrics for node a: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    outputs.push(pilot_json(&home, &["status"]).to_string());
    outputs.push(pilot_json(&home, &["project", "show", "shop"]).to_string());

    // The secret's value is in no response, log or file but the apps' env files.
    for out in &outputs {
        assert!(
            !out.contains(SECRET),
            "a CLI output holds the secret: {out}"
        );
    }
    for proc in [&server, &agent_a, &agent_b] {
        assert!(
            !proc.text().contains(SECRET),
            "{} logged the secret",
            proc.name
        );
    }
    let mut holders = files_containing(root, SECRET);
    holders.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        !(name == ".env"
            || name == "secrets.env"
            || p.components().any(|c| c.as_os_str() == "supervisor"))
    });
    assert!(holders.is_empty(), "files holding the secret: {holders:?}");
    assert!(
        !files_containing(root, SECRET).is_empty(),
        "the apps' .env files hold it (the check above is not vacuous)"
    );

    // Removing the project stops its apps on both nodes.
    let removed = pilot_ok(&home, &["project", "remove", "shop"]);
    assert!(!removed.contains(SECRET));
    assert!(http_get(&format!("127.0.0.2:{app_port}"), "/").is_err());
    assert!(http_get(&format!("127.0.0.3:{app_port}"), "/").is_err());
}
