//! Secrets reach the app, and nowhere else: not in any log file, journal,
//! event or error text. Only the files that must hold them (`.env`, the
//! release's secret list, the supervisor's service state) do, all mode 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::*;
use pilot_core::engine::{DeployState, EventLog, NewRelease, StepKind, StepStatus};
use pilot_core::source::SourceSpec;
use pilot_core::{SecretScope, SecretStore, SecretValue};

const TOKEN: &str = "tok-SuperSecret-123";
const PASSWORD: &str = "pw-Hidden-456";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let t = entry.file_type().unwrap();
        if t.is_dir() {
            files_under(&entry.path(), out);
        } else if t.is_file() {
            out.push(entry.path());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_logs_journals_events_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let apps = tmp.path().join("apps");
    let events = Arc::new(EventLog::new());
    let (engine, secrets) = local_engine(&data, events.clone()).await;
    let scope = SecretScope::project("web");
    secrets
        .set(&scope, "API_TOKEN", SecretValue::new(TOKEN))
        .await
        .unwrap();
    secrets
        .set(&scope, "DB_PASSWORD", SecretValue::new(PASSWORD))
        .await
        .unwrap();
    let port = free_port();

    let good = app_version(&apps, "v1", |c| {
        fast_deployment(c, port);
        c["env"]["TOKEN"] = "{{API_TOKEN}}".into();
        c["env"]["DB_URL"] = "postgres://app:{{DB_PASSWORD}}@db/app".into();
        c["build"]["commands"] = serde_json::json!(["echo \"building with $TOKEN and $DB_URL\""]);
        c["start"]["command"] =
            "echo \"starting with $TOKEN\"; echo \"db $DB_URL\" >&2; exec python3 app.py".into();
    });
    let done = engine
        .deploy(NewRelease::new("web", SourceSpec::Dir { path: good }))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    let release = data
        .join("projects/web/releases")
        .join(format!("1-{}", done.version.clone().unwrap()));
    let env = std::fs::read_to_string(release.join(".env")).unwrap();
    assert!(
        env.contains(&format!("TOKEN=\"{TOKEN}\"")),
        "the app gets its secrets: {env}"
    );
    assert!(env.contains(&format!("DB_URL=\"postgres://app:{PASSWORD}@db/app\"")));
    let deploy_log =
        std::fs::read_to_string(data.join(format!("logs/web/deploy-{}.log", done.id))).unwrap();
    assert!(
        deploy_log.contains("building with ******** and postgres://app:********@db/app"),
        "{deploy_log}"
    );
    let service_log = data.join("logs/web/app-g1.log");
    let mut waited = 0;
    while !std::fs::read_to_string(&service_log)
        .unwrap_or_default()
        .contains("db postgres")
        && waited < 50
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let text = std::fs::read_to_string(&service_log).unwrap();
    assert!(text.contains("starting with ********"), "{text}");
    assert!(text.contains("db postgres://app:********@db/app"), "{text}");

    // A failing build whose output and error carry the secrets.
    let bad = app_version(&apps, "v2", |c| {
        fast_deployment(c, port);
        c["env"]["TOKEN"] = "{{API_TOKEN}}".into();
        c["build"]["commands"] =
            serde_json::json!([format!("echo \"$TOKEN\" >&2; echo {PASSWORD}; exit 7")]);
    });
    let failed = engine
        .deploy(NewRelease::new("web", SourceSpec::Dir { path: bad }))
        .await
        .unwrap();
    assert_eq!(failed.state(), DeployState::Failed);
    let error = failed.clone().succeeded().unwrap_err().to_string();
    assert!(error.contains("exit code 7"), "{error}");

    // Missing secrets fail before anything is built, naming every one.
    let missing = app_version(&apps, "v3", |c| {
        fast_deployment(c, port);
        c["env"]["A"] = "{{NOPE}}".into();
        c["env"]["B"] = "x-{{ALSO_MISSING}}-{{API_TOKEN}}".into();
    });
    let failed_missing = engine
        .deploy(NewRelease::new("web", SourceSpec::Dir { path: missing }))
        .await
        .unwrap();
    assert_eq!(failed_missing.state(), DeployState::Failed);
    let reason = failed_missing.reason.clone().unwrap();
    assert!(
        reason.contains("missing secrets for project web: ALSO_MISSING, NOPE"),
        "{reason}"
    );
    assert_eq!(
        failed_missing.step(StepKind::Configure).unwrap().status,
        StepStatus::Reverted
    );
    assert_eq!(
        failed_missing.step(StepKind::Build).unwrap().status,
        StepStatus::Pending
    );

    // Nothing but 0600 files outside logs/ holds a secret.
    let mut files = Vec::new();
    files_under(&data, &mut files);
    let mut holders = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if text.contains(TOKEN) || text.contains(PASSWORD) {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode,
                0o600,
                "{} holds a secret with mode {mode:o}",
                file.display()
            );
            assert!(
                !file.starts_with(data.join("logs")),
                "a log file holds a secret: {}",
                file.display()
            );
            holders.push(file.strip_prefix(&data).unwrap().display().to_string());
        }
    }
    holders.sort();
    assert!(holders.iter().any(|h| h.ends_with("/.env")), "{holders:?}");
    assert!(
        holders.iter().all(|h| h.ends_with("/.env")
            || h.ends_with(".pilot/secrets.env")
            || h.starts_with("run/supervisor/")),
        "{holders:?}"
    );
    let all_events = serde_json::to_string(&events.events()).unwrap();
    for text in [
        all_events,
        error,
        reason,
        serde_json::to_string(&failed).unwrap(),
    ] {
        assert!(
            !text.contains(TOKEN) && !text.contains(PASSWORD),
            "a secret leaked: {text}"
        );
    }
    engine.parts().services.remove("web-g1").await.unwrap();
}
