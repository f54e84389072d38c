//! The `pilot` command line: parsing of every subcommand, the `--json`
//! output of the commands run against a real server, and the client
//! config file.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::scripted::{ADMIN_PASSWORD, CONFIG, ServedApi};
use clap::Parser;
use pilot_server::cli::{
    self, Cli, CliError, ClientConfig, Command, Context, DeployArgs, EnvCommand, LogsArgs,
    MetricsArgs, NodeCommand, ProjectCommand, Target,
};
use pilot_server::client::pack_dir;
use pilot_server::server::AgentTls;
use serde_json::Value;

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["pilot"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn usage_error(args: &[&str]) -> clap::Error {
    let mut argv = vec!["pilot"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv) {
        Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
        Err(e) => e,
    }
}

#[test]
fn every_subcommand_parses() {
    let cli = parse(&["--server", "http://h:1", "--json", "status"]);
    assert_eq!(cli.global.server.as_deref(), Some("http://h:1"));
    assert!(cli.global.json);
    assert!(matches!(cli.command, Command::Status));

    let Command::Serve(serve) = parse(&[
        "serve",
        "--data",
        "/d",
        "--listen",
        "0.0.0.0:9000",
        "--agent-listen",
        "127.0.0.1:55002",
        "--database",
        "postgres://x",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
    ])
    .command
    else {
        panic!("serve");
    };
    assert_eq!(serve.data, PathBuf::from("/d"));
    assert_eq!(serve.listen.port(), 9000);
    assert_eq!(serve.agent_listen.port(), 55002);
    let options = cli::serve_options(&serve, |name| {
        (name == cli::ENV_ADMIN_PASSWORD).then(|| "from-env".to_string())
    });
    assert_eq!(options.database_url.as_deref(), Some("postgres://x"));
    assert_eq!(
        options.agent_tls,
        AgentTls::Files {
            cert: "c.pem".into(),
            key: "k.pem".into()
        }
    );
    assert_eq!(options.admin_password.as_deref(), Some("from-env"));
    let Command::Serve(plain) = parse(&["serve", "--no-tls"]).command else {
        panic!("serve");
    };
    assert_eq!(
        cli::serve_options(&plain, |_| None).agent_tls,
        AgentTls::Off
    );
    assert_eq!(plain.data, PathBuf::from("pilot-data"));

    let Command::Up(up) = parse(&["up", "examples/apps/flask", "--project", "demo"]).command else {
        panic!("up");
    };
    assert_eq!(up.app_dir, Some(PathBuf::from("examples/apps/flask")));
    assert_eq!(up.project.as_deref(), Some("demo"));
    assert_eq!(up.listen.port(), 8080);

    let Command::Login(login) = parse(&["login", "--user", "ada", "--password-stdin"]).command
    else {
        panic!("login");
    };
    assert_eq!(login.user, "ada");
    assert!(login.password_stdin);

    for (args, expected) in [
        (vec!["node", "add", "web-1"], "add"),
        (vec!["node", "list"], "list"),
        (vec!["node", "show", "web-1"], "show"),
        (vec!["node", "revoke", "web-1"], "revoke"),
    ] {
        let Command::Node(node) = parse(&args).command else {
            panic!("node");
        };
        let name = match node {
            NodeCommand::Add { .. } => "add",
            NodeCommand::List => "list",
            NodeCommand::Show { .. } => "show",
            NodeCommand::Revoke { .. } => "revoke",
        };
        assert_eq!(name, expected);
    }

    let Command::Project(ProjectCommand::Create(create)) = parse(&[
        "project",
        "create",
        "shop",
        "--git",
        "https://g/x.git",
        "--branch",
        "main",
        "--node",
        "web-1,web-2",
        "--node",
        "web-3",
        "--port",
        "8300",
    ])
    .command
    else {
        panic!("project create");
    };
    assert_eq!(create.nodes, ["web-1", "web-2", "web-3"]);
    assert_eq!(create.branch.as_deref(), Some("main"));
    assert_eq!(create.port, Some(8300));
    let Command::Project(ProjectCommand::Create(from_dir)) =
        parse(&["project", "create", "shop", "--dir", ".", "--node", "local"]).command
    else {
        panic!("project create --dir");
    };
    assert_eq!(from_dir.dir, Some(PathBuf::from(".")));
    for args in [
        vec!["project", "list"],
        vec!["project", "show", "shop"],
        vec!["project", "remove", "shop"],
        vec!["project", "config", "shop", "config.vpspilot.json"],
        vec!["project", "start", "shop"],
        vec!["project", "stop", "shop"],
        vec!["project", "restart", "shop"],
    ] {
        assert!(
            matches!(parse(&args).command, Command::Project(_)),
            "{args:?}"
        );
    }

    let Command::Deploy(deploy) = parse(&[
        "deploy",
        "shop",
        "--ref",
        "tag:v2",
        "--canary",
        "web-1",
        "--canary-watch",
        "2m",
        "--no-wait",
    ])
    .command
    else {
        panic!("deploy");
    };
    assert_eq!(deploy.reference.as_deref(), Some("tag:v2"));
    assert_eq!(deploy.canary, ["web-1"]);
    assert_eq!(deploy.canary_watch, Duration::from_secs(120));
    assert!(deploy.no_wait);
    let Command::Deploy(from_dir) = parse(&["deploy", "shop", "--dir", "app"]).command else {
        panic!("deploy --dir");
    };
    assert_eq!(from_dir.dir, Some(PathBuf::from("app")));
    assert!(from_dir.canary.is_empty());

    let Command::Rollback(rollback) = parse(&["rollback", "shop", "--generation", "3"]).command
    else {
        panic!("rollback");
    };
    assert_eq!(rollback.generation, Some(3));

    let Command::Logs(logs) = parse(&["logs", "shop", "-n", "50", "-f"]).command else {
        panic!("logs");
    };
    assert_eq!((logs.lines, logs.follow), (50, true));

    let Command::Env(EnvCommand::Set {
        value, stdin, node, ..
    }) = parse(&["env", "set", "shop", "DB", "--stdin", "--node", "web-1"]).command
    else {
        panic!("env set");
    };
    assert_eq!((value, stdin, node.as_deref()), (None, true, Some("web-1")));
    let Command::Env(EnvCommand::Set { value, .. }) =
        parse(&["env", "set", "shop", "DB", "v"]).command
    else {
        panic!("env set VALUE");
    };
    assert_eq!(value.as_deref(), Some("v"));
    assert!(matches!(
        parse(&["env", "list", "shop"]).command,
        Command::Env(EnvCommand::List { .. })
    ));
    assert!(matches!(
        parse(&["env", "unset", "shop", "DB", "--node", "web-1"]).command,
        Command::Env(EnvCommand::Unset { .. })
    ));

    let Command::Metrics(metrics) = parse(&[
        "metrics",
        "web-1",
        "--metric",
        "cpu_usage_percent",
        "--since",
        "24h",
        "--step",
        "5m",
    ])
    .command
    else {
        panic!("metrics");
    };
    assert_eq!(metrics.since, Duration::from_secs(86_400));
    assert_eq!(metrics.step, Duration::from_secs(300));

    let Command::Completions(completions) = parse(&["completions", "bash"]).command else {
        panic!("completions");
    };
    let mut script = Vec::new();
    cli::completions(&completions, &mut script).unwrap();
    let script = String::from_utf8(script).unwrap();
    assert!(
        script.contains("pilot") && script.contains("deploy"),
        "{script}"
    );
}

#[test]
fn wrong_usage_exits_with_2() {
    for args in [
        vec![
            "project", "create", "shop", "--git", "u", "--dir", "d", "--node", "n",
        ],
        vec!["project", "create", "shop", "--node", "n"],
        vec!["project", "create", "shop", "--git", "u"],
        vec![
            "project", "create", "shop", "--dir", "d", "--branch", "b", "--node", "n",
        ],
        vec!["deploy", "shop", "--ref", "main", "--dir", "."],
        vec!["deploy", "shop", "--canary-watch", "30s"],
        vec![
            "deploy",
            "shop",
            "--canary",
            "web-1",
            "--canary-watch",
            "soon",
        ],
        vec!["env", "set", "shop", "DB"],
        vec!["env", "set", "shop", "DB", "value", "--stdin"],
        vec!["serve", "--tls-cert", "c.pem"],
        vec![
            "serve",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--no-tls",
        ],
        vec!["serve", "--listen", "not-an-address"],
        vec!["metrics", "web-1", "--since", "1y"],
        vec!["completions", "cmd.exe"],
        vec!["frobnicate"],
    ] {
        let error = usage_error(&args);
        assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
    }
    assert_eq!(CliError::usage("x").exit_code(), cli::EXIT_USAGE);
    assert_eq!(CliError::failed("x").exit_code(), cli::EXIT_FAILURE);
}

/// A context logged in as the admin, printing JSON.
async fn json_context(server: &ServedApi) -> Context {
    let session = server
        .client()
        .login("ada", ADMIN_PASSWORD)
        .await
        .expect("login");
    let target = Target {
        server: server.url(),
        token: Some(session.token),
    };
    Context::new(&target, true, None).expect("context")
}

/// Runs a command function and parses what it printed.
macro_rules! json_of {
    ($out:ident => $call:expr) => {{
        let mut buffer: Vec<u8> = Vec::new();
        let result = {
            let $out: &mut (dyn std::io::Write + Send) = &mut buffer;
            $call.await
        };
        let text = String::from_utf8(buffer).expect("utf-8");
        result.unwrap_or_else(|e| panic!("{e}: {text}"));
        serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }};
}

#[tokio::test]
async fn json_output_has_the_api_shapes() {
    let server = ServedApi::start().await;
    let ctx = json_context(&server).await;

    let added = json_of!(out => cli::node_add(&ctx, "web-3", out));
    assert_eq!(added["node"]["name"], "web-3");
    assert!(added["token"].as_str().unwrap().starts_with("pilot_nt_"));
    assert!(added["agent_command"].is_string());

    let nodes = json_of!(out => cli::node_list(&ctx, out));
    let names: Vec<&str> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bad-1", "web-1", "web-2", "web-3"]);
    assert_eq!(nodes[1]["online"], true);

    let node = json_of!(out => cli::node_show(&ctx, "web-1", out));
    assert_eq!(node["name"], "web-1");

    let dir = server.app_dir("shop", CONFIG);
    let create = cli::ProjectCreateArgs {
        name: "shop".into(),
        git: None,
        branch: None,
        dir: Some(dir.clone()),
        nodes: vec!["web-1".into()],
        port: None,
    };
    let created = json_of!(out => cli::project_create(&ctx, &create, out));
    assert_eq!(created["project"]["name"], "shop");
    assert_eq!(created["project"]["source"]["type"], "upload");

    let projects = json_of!(out => cli::project_list(&ctx, out));
    assert_eq!(projects[0]["name"], "shop");
    assert_eq!(projects[0]["status"], "created");

    let set = json_of!(out => cli::env_set(&ctx, "shop", "DB_PASSWORD", "hidden-pw", None, out));
    assert_eq!(set["set"], true);
    let env = json_of!(out => cli::env_list(&ctx, "shop", out));
    assert_eq!(env["project"], serde_json::json!(["DB_PASSWORD"]));
    assert!(!env.to_string().contains("hidden-pw"));

    let deploy = DeployArgs {
        project: "shop".into(),
        reference: None,
        dir: Some(dir),
        canary: Vec::new(),
        canary_watch: Duration::from_secs(30),
        no_wait: false,
    };
    let rollout = json_of!(out => cli::deploy(&ctx, &deploy, out));
    assert_eq!(rollout["status"], "succeeded");
    assert_eq!(rollout["nodes"][0]["node"], "web-1");
    assert_eq!(rollout["nodes"][0]["generation"], 1);

    let detail = json_of!(out => cli::project_show(&ctx, "shop", out));
    assert_eq!(detail["status"], "running");
    assert_eq!(detail["deployments"].as_array().unwrap().len(), 1);

    let status = json_of!(out => cli::status(&ctx, out));
    assert_eq!(status["server"], server.url());
    assert_eq!(status["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(status["projects"][0]["name"], "shop");

    let logs_args = LogsArgs {
        project: "shop".into(),
        lines: 5,
        follow: false,
    };
    let logs = json_of!(out => cli::logs(&ctx, &logs_args, out));
    assert_eq!(logs["nodes"][0]["lines"][0], "web-1 line 1");

    let latest = MetricsArgs {
        node: "web-1".into(),
        metric: None,
        since: Duration::from_secs(3600),
        step: Duration::from_secs(60),
    };
    let metrics = json_of!(out => cli::metrics(&ctx, &latest, out));
    assert_eq!(metrics, serde_json::json!([]));
    let series = MetricsArgs {
        metric: Some("cpu_usage_percent".into()),
        ..latest
    };
    let query = json_of!(out => cli::metrics(&ctx, &series, out));
    assert_eq!(query["metric"], "cpu_usage_percent");
    assert_eq!(query["step_ms"], 60_000);

    let unset = json_of!(out => cli::env_unset(&ctx, "shop", "DB_PASSWORD", None, out));
    assert_eq!(unset["set"], false);
    let removed = json_of!(out => cli::project_remove(&ctx, "shop", out));
    assert_eq!(removed["project"], "shop");
    let revoked = json_of!(out => cli::node_revoke(&ctx, "web-3", out));
    assert_eq!(revoked["revoked"], true);
}

#[tokio::test]
async fn failures_print_text_and_end_with_exit_code_1() {
    let server = ServedApi::start().await;
    let session = server.client().login("ada", ADMIN_PASSWORD).await.unwrap();
    let target = Target {
        server: server.url(),
        token: Some(session.token),
    };
    let ctx = Context::new(&target, false, None).unwrap();
    let dir = server.app_dir("api", CONFIG);
    ctx.client
        .create_project_from_archive(
            "api",
            &["bad-1".into()],
            None,
            pack_dir(&dir).unwrap(),
            false,
        )
        .await
        .unwrap();
    ctx.client
        .set_env("api", "DB_PASSWORD", "pw", None)
        .await
        .unwrap();

    let deploy = DeployArgs {
        project: "api".into(),
        reference: None,
        dir: Some(dir),
        canary: Vec::new(),
        canary_watch: Duration::from_secs(30),
        no_wait: false,
    };
    let mut out = Vec::new();
    let error = cli::deploy(&ctx, &deploy, &mut out).await.unwrap_err();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("bad-1") && text.contains("build failed"),
        "{text}"
    );
    assert_eq!(error.exit_code(), 1);
    assert!(error.to_string().contains("pilot logs api"), "{error}");

    let mut out = Vec::new();
    let bad_config = server.dir.path().join("bad.json");
    std::fs::write(&bad_config, crate::support::scripted::BAD_CONFIG).unwrap();
    let error = cli::project_config(&ctx, "api", &bad_config, &mut out)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("runtime.python") && message.contains("line"),
        "{message}"
    );

    let anonymous = Context::new(
        &Target {
            server: server.url(),
            token: None,
        },
        false,
        None,
    )
    .unwrap();
    let error = cli::status(&anonymous, &mut Vec::new()).await.unwrap_err();
    assert!(error.to_string().contains("pilot login"), "{error}");
    assert_eq!(error.exit_code(), 1);
}

#[tokio::test]
async fn login_saves_the_session_readable_by_its_owner_only() {
    let server = ServedApi::start().await;
    let path = server.dir.path().join("config/pilot/client.json");
    let target = Target {
        server: server.url(),
        token: None,
    };
    let ctx = Context::new(&target, false, Some(path.clone())).unwrap();
    let mut out = Vec::new();
    cli::login(&ctx, "ada", ADMIN_PASSWORD, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(&format!("logged in to {} as ada", server.url())),
        "{text}"
    );
    assert!(!text.contains("eyJ"), "the token is not printed: {text}");

    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved = ClientConfig::load(&path).unwrap().expect("saved");
    assert_eq!(saved.server, server.url());
    let token = saved.token.clone().expect("token");

    let target = cli::resolve(None, |_| None, Some(&saved));
    assert_eq!(target.token.as_deref(), Some(token.as_str()));
    let again = Context::new(&target, false, None).unwrap();
    assert_eq!(again.client.verify().await.unwrap().user.username, "ada");

    let error = cli::login(&ctx, "ada", "wrong", &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("wrong user name or password"),
        "{error}"
    );
    assert_eq!(
        ClientConfig::load(&path).unwrap().unwrap().token.as_deref(),
        Some(token.as_str()),
        "a failed login keeps the saved session"
    );
    let Err(CliError::Config { .. }) = ClientConfig::load(&server.dir.path().join("pilot.db"))
    else {
        panic!("a file that is not a config is reported");
    };
}
