//! Malformed configs: each must be rejected with the right path, position,
//! message and hint, and every problem of a config must be reported at once.

use pilot_core::config::{self, ConfigError, Problem};

/// A valid nodejs config with `extra` members appended.
fn doc(extra: &str) -> String {
    format!(
        "{{\"name\": \"app\", \"type\": \"nodejs\", \"runtime\": {{\"node\": \"20\"}}, \
         \"start\": {{\"command\": \"node server.js\"}}, {extra}}}"
    )
}

/// A valid config of `app_type` with the given runtime object and `extra` members.
fn typed(app_type: &str, runtime: &str, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!(
        "{{\"name\": \"app\", \"type\": \"{app_type}\", \"runtime\": {runtime}, \
         \"start\": {{\"command\": \"run\"}}{extra}}}"
    )
}

/// One malformed config and what its single problem must say.
struct Case {
    text: String,
    path: &'static str,
    words: &'static [&'static str],
    position: Option<(usize, usize)>,
}

fn case(text: impl Into<String>, path: &'static str, words: &'static [&'static str]) -> Case {
    Case {
        text: text.into(),
        path,
        words,
        position: None,
    }
}

fn at(mut c: Case, line: usize, column: usize) -> Case {
    c.position = Some((line, column));
    c
}

fn problems(text: &str) -> Vec<Problem> {
    match config::parse(text) {
        Ok(config) => panic!("accepted {text}\nas {config:?}"),
        Err(error) => error.problems().to_vec(),
    }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        // JSON syntax, with positions.
        at(case("{\n  \"name\": \"app\",\n}", "", &["invalid json", "trailing comma", "remove the comma"]), 3, 1),
        at(case("{\n  'name': 'app'\n}", "", &["key must be a string", "single quotes"]), 2, 3),
        at(case("{\n  \"name\": \"app\"\n  \"type\": \"nodejs\"\n}", "", &["expected `,` or `}`", "end of line 2"]), 3, 3),
        at(case("{\"name\": \"app}", "", &["end of file while parsing a string", "closing double quote"]), 1, 14),
        at(case("", "", &["end of file", "the file is empty"]), 1, 1),
        at(case("{\n  // the app\n  \"name\": \"app\"\n}", "", &["key must be a string", "comments"]), 2, 3),
        at(case("{\"name\": \"ünïcode\", \"port\": 80 80}", "", &["expected `,` or `}`", "just before this point"]), 1, 32),
        // Wrong JSON types.
        case("[1, 2]", "", &["expected an object, found a list", "\"name\""]),
        case(doc("\"port\": \"8080\""), "port", &["expected a whole number", "the string \"8080\"", "without quotes: 8080"]),
        case(typed("nodejs", "{\"node\": 20}", ""), "runtime.node", &["expected a string, found the number 20", "\"20\""]),
        case(typed("python", "{\"python\": 3.10}", ""), "runtime.python", &["the number 3.10", "\"3.10\""]),
        case(doc("\"build\": {\"commands\": \"npm run build\"}"), "build.commands", &["expected a list", "[\"npm run build\"]"]),
        case(doc("\"deployment\": {\"warm_standby\": \"true\"}"), "deployment.warm_standby", &["expected true or false", "write true without quotes"]),
        case(doc("\"env\": {\"DB_PORT\": 5432}"), "env.DB_PORT", &["expected a string", "\"5432\""]),
        case(doc("\"deployment\": null"), "deployment", &["expected an object, found null", "write an object"]),
        case("{\"name\": \"a\", \"type\": \"static\", \"start\": {\"command\": \"x\"}, \"name\": \"b\"}", "name", &["field `name` is written more than once", "keep only one"]),
        // Unknown and repeated fields.
        case(doc("\"bulid\": {\"commands\": []}"), "bulid", &["unknown field `bulid`", "did you mean `build`?", "`deployment`", "`resources`"]),
        case(doc("\"deployment\": {\"healthcheck_timout\": 5}"), "deployment.healthcheck_timout", &["unknown field", "did you mean `healthcheck_timeout`?"]),
        case(typed("nodejs", "{\"node\": \"20\", \"nodejs\": \"20\"}", ""), "runtime.nodejs", &["unknown field `nodejs`", "did you mean `node`?"]),
        case(doc("\"test\": {\"command\": \"npm test\", \"cwd\": \"app\"}"), "test.cwd", &["unknown field `cwd`", "`command`"]),
        // Type and required fields.
        case(typed("node", "{\"node\": \"20\"}", ""), "type", &["unknown app type `node`", "did you mean `nodejs`?", "`laravel`", "`custom`"]),
        case("{\"type\": \"static\", \"start\": {\"command\": \"serve\"}}", "name", &["missing required field `name`", "\"name\""]),
        case("{\"name\": \"app\", \"start\": {\"command\": \"serve\"}}", "type", &["missing required field `type`", "`static`"]),
        case("{\"name\": \"app\", \"type\": \"static\"}", "start.command", &["missing required field `start.command`", "$port"]),
        case("{\"name\": \"app\", \"type\": \"static\", \"start\": {}}", "start.command", &["missing required field `start.command`"]),
        case(format!("{{\"name\": \"{}\", \"type\": \"static\", \"start\": {{\"command\": \"x\"}}}}", "a".repeat(101)), "name", &["101 characters", "limit is 100"]),
        case("{\"name\": \"  \", \"type\": \"static\", \"start\": {\"command\": \"x\"}}", "name", &["`name` is empty"]),
        // Runtime versions.
        case(typed("nodejs", "{\"node\": \"19\"}", ""), "runtime.node", &["unsupported node version \"19\"", "\"18\", \"20\", \"22\"", "\"20.11.1\""]),
        case(typed("python", "{\"python\": \"3.11.x\"}", ""), "runtime.python", &["unsupported python version \"3.11.x\"", "\"3.10\", \"3.11\", \"3.12\"", "\"3.11.7\""]),
        case(typed("ruby", "{\"ruby\": \"banana\"}", ""), "runtime.ruby", &["unsupported ruby version \"banana\"", "\"3.1\", \"3.2\", \"3.3\""]),
        case(typed("laravel", "{\"php\": \"v8.2\"}", ""), "runtime.php", &["unsupported php version", "write \"8.2\"", "leading `v`"]),
        case(typed("go", "{\"go\": \"1.20\"}", ""), "runtime.go", &["unsupported go version \"1.20\"", "\"1.21\", \"1.22\", \"1.23\""]),
        case(typed("laravel", "{\"node\": \"20\"}", ""), "runtime.php", &["a laravel app needs a php version", "\"php\": \"8.3\"", "\"8.1\", \"8.2\", \"8.3\""]),
        case("{\"name\": \"app\", \"type\": \"django\", \"start\": {\"command\": \"x\"}}", "runtime.python", &["a django app needs a python version"]),
        // Custom apps and flakes.
        case("{\"name\": \"app\", \"type\": \"custom\", \"start\": {\"command\": \"x\"}}", "nix.flake_file", &["a custom app needs `nix.flake_file`", "\"./flake.nix\""]),
        case(typed("custom", "{}", "\"nix\": {\"flake_file\": \"/etc/flake.nix\"}"), "nix.flake_file", &["relative to the app root"]),
        case(typed("custom", "{}", "\"nix\": {\"flake_file\": \"nix/../../flake.nix\"}"), "nix.flake_file", &["may not leave the app directory", "`..`"]),
        case(doc("\"nix\": {\"flake_file\": \"./flake.nix\"}"), "nix.flake_file", &["only used by custom apps", "\"type\": \"custom\""]),
        // Commands.
        case(doc("\"build\": {\"commands\": [\"npm ci\", \"  \"]}"), "build.commands[1]", &["the build command is empty"]),
        case("{\"name\": \"a\", \"type\": \"static\", \"start\": {\"command\": \"\"}}", "start.command", &["the start command is empty", "$port"]),
        case(doc("\"test\": {\"command\": \"npm\\u0000test\"}"), "test.command", &["nul character"]),
        // Env names and placeholders.
        case(doc("\"env\": {\"db-password\": \"x\"}"), "env.db-password", &["invalid environment variable name `db-password`", "`db_password`"]),
        case(doc("\"env\": {\"PORT\": \"3000\"}"), "env.PORT", &["`port` is set by pilot"]),
        case(doc("\"env\": {\"DB\": \"{{ DB_PASSWORD }}\"}"), "env.DB", &["`{{ db_password }}` in `db` has spaces", "write `{{db_password}}`"]),
        case(doc("\"env\": {\"DB\": \"{DB_PASSWORD}}\"}"), "env.DB", &["`{db_password}}` in `db`", "one opening brace", "`{{db_password}}`"]),
        case(doc("\"env\": {\"DB\": \"{{DB_PASSWORD}\"}"), "env.DB", &["one closing brace", "`{{db_password}}`"]),
        case(doc("\"env\": {\"DB\": \"x{{}}\"}"), "env.DB", &["`{{}}` in `db` has no name"]),
        case(doc("\"env\": {\"DB\": \"{{{DB_PASSWORD}}}\"}"), "env.DB", &["more than two braces", "`{{db_password}}`"]),
        case(doc("\"env\": {\"DB\": \"{{db-password}}\"}"), "env.DB", &["`{{db-password}}` in `db`", "letters, digits and `_`", "`{{db_password}}`"]),
        case(doc("\"env\": {\"DB\": \"{{DB_PASSWORD}}}\"}"), "env.DB", &["more than two braces"]),
        case(doc("\"env\": {\"URL\": \"postgres://{{DB_USER\"}"), "env.URL", &["`{{db_user` in `url` is not closed"]),
        // Ports.
        case(doc("\"port\": 0"), "port", &["0 is out of range", "from 1 to 65535"]),
        case(doc("\"port\": 70000"), "port", &["70000 is out of range"]),
        case(doc("\"port\": -1"), "port", &["-1 is out of range"]),
        case(doc("\"port\": 80.5"), "port", &["expected a whole number, found 80.5"]),
        // Deployment.
        case(doc("\"deployment\": {\"strategy\": \"bluegreen\"}"), "deployment.strategy", &["unknown strategy `bluegreen`", "did you mean `blue-green`?", "`rolling`"]),
        case(doc("\"deployment\": {\"healthcheck_type\": \"grpc\"}"), "deployment.healthcheck_type", &["unknown health check type `grpc`", "`http`, `tcp`"]),
        case(doc("\"deployment\": {\"healthcheck_timeout\": 0}"), "deployment.healthcheck_timeout", &["must be more than 0 seconds"]),
        case(doc("\"deployment\": {\"healthcheck_timeout\": 301}"), "deployment.healthcheck_timeout", &["301 seconds", "limit is 300"]),
        case(doc("\"deployment\": {\"healthcheck_interval\": \"2m\"}"), "deployment.healthcheck_interval", &["expected a number of seconds", "without quotes: 120"]),
        case(doc("\"deployment\": {\"healthcheck_start_period\": 1e9}"), "deployment.healthcheck_start_period", &["limit is 86400"]),
        case(doc("\"deployment\": {\"watch_seconds\": -1}"), "deployment.watch_seconds", &["cannot be negative"]),
        case(doc("\"deployment\": {\"healthcheck_retries\": 0}"), "deployment.healthcheck_retries", &["0 is less than 1", "1 or more"]),
        case(doc("\"deployment\": {\"keep_generations\": 2.5}"), "deployment.keep_generations", &["expected a whole number"]),
        case(doc("\"deployment\": {\"healthcheck_url\": \"health\"}"), "deployment.healthcheck_url", &["http(s) url", "\"/health\""]),
        case(doc("\"deployment\": {\"healthcheck_path\": \"health\"}"), "deployment.healthcheck_path", &["must start with `/`", "write \"/health\""]),
        case(doc("\"deployment\": {\"healthcheck_url\": \"/a\", \"healthcheck_path\": \"/b\"}"), "deployment.healthcheck_path", &["both set", "keep only one"]),
        case(doc("\"deployment\": {\"healthcheck_type\": \"tcp\", \"healthcheck_path\": \"/health\"}"), "deployment.healthcheck_path", &["tcp health check", "\"healthcheck_type\": \"http\""]),
        // Resources.
        case(doc("\"resources\": {\"memory\": \"512 MB\"}"), "resources.memory", &["invalid memory size", "without spaces: \"512MB\""]),
        case(doc("\"resources\": {\"memory\": \"lots\"}"), "resources.memory", &["invalid memory size \"lots\"", "\"512m\", \"1g\", \"256mib\" or \"1.5g\""]),
        case(doc("\"resources\": {\"memory\": \"512K\"}"), "resources.memory", &["below the minimum of 1m"]),
        case(doc("\"resources\": {\"memory\": 512}"), "resources.memory", &["expected a size with a unit", "\"512M\""]),
        case(doc("\"resources\": {\"cpu\": 0}"), "resources.cpu", &["more than 0 cores"]),
        case(doc("\"resources\": {\"cpu\": 2000}"), "resources.cpu", &["limit is 1024"]),
        case(doc("\"resources\": {\"cpu\": \"50%\"}"), "resources.cpu", &["expected a number of cores", "without quotes: 0.5"]),
    ]
}

#[test]
fn each_malformed_config_reports_its_one_problem_precisely() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for case in &cases {
        let found = problems(&case.text);
        let [problem] = found.as_slice() else {
            failures.push(format!(
                "{}\n  expected one problem, got {found:#?}",
                case.text
            ));
            continue;
        };
        let text = format!(
            "{} ({})",
            problem.message,
            problem.hint.as_deref().unwrap_or("")
        );
        let missing: Vec<&str> = case
            .words
            .iter()
            .copied()
            .filter(|w| !text.to_lowercase().contains(&w.to_lowercase()))
            .collect();
        let position = problem.line.zip(problem.column);
        if problem.path != case.path
            || !missing.is_empty()
            || problem.hint.is_none()
            || position.is_none()
            || case.position.is_some_and(|p| Some(p) != position)
        {
            failures.push(format!(
                "{}\n  expected path {:?} at {:?} with {missing:?}\n  got {problem:?}",
                case.text, case.path, case.position
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const FIVE_PROBLEMS: &str = r#"{
  "name": "shop",
  "type": "nodejs",
  "runtime": {"node": "19"},
  "bulid": {"commands": ["npm ci"]},
  "start": {"command": "   "},
  "env": {"DB_PASSWORD": "{{ DB_PASSWORD }}"},
  "port": 70000
}"#;

#[test]
fn every_problem_of_a_config_is_reported_at_once_in_file_order() {
    let found = problems(FIVE_PROBLEMS);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "runtime.node",
            "bulid",
            "start.command",
            "env.DB_PASSWORD",
            "port"
        ]
    );
    let lines: Vec<Option<usize>> = found.iter().map(|p| p.line).collect();
    assert_eq!(lines, [Some(4), Some(5), Some(6), Some(7), Some(8)]);
    assert!(found.iter().all(|p| p.hint.is_some()));
}

#[test]
fn the_error_lists_each_problem_on_its_own_line() {
    let error = config::parse(FIVE_PROBLEMS).expect_err("five problems");
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].contains("5 problems"), "{text}");
    assert_eq!(
        lines[1],
        "  runtime.node: unsupported node version \"19\" (supported node versions are \
         \"18\", \"20\", \"22\", or an exact release of one of them such as \"20.11.1\"), \
         line 4, column 23"
    );
    assert!(lines[2].starts_with("  bulid: unknown field `bulid` (did you mean `build`?"));
    assert!(lines[5].ends_with("line 8, column 11"), "{text}");
}

#[test]
fn load_reads_the_file_from_the_app_directory_or_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = config::load(dir.path()).expect_err("no config yet");
    assert!(
        matches!(missing, ConfigError::Read { ref path, .. } if path.ends_with(config::CONFIG_FILE_NAME))
    );
    assert!(missing.problems().is_empty());

    let file = dir.path().join(config::CONFIG_FILE_NAME);
    std::fs::write(&file, FIVE_PROBLEMS).expect("write config");
    assert_eq!(
        config::load(dir.path())
            .expect_err("invalid")
            .problems()
            .len(),
        5
    );
    assert_eq!(
        config::load(&file).expect_err("invalid").problems().len(),
        5
    );

    std::fs::write(&file, config::examples::example(config::AppType::Go)).expect("write config");
    assert_eq!(
        config::load(dir.path()).expect("valid").name,
        "My Go Service"
    );
}

#[test]
fn a_leading_byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{}", doc("\"port\": 8080"));
    assert_eq!(config::parse(&text).expect("valid").port, Some(8080));
}

#[test]
fn problems_inside_an_invalid_section_do_not_hide_the_others() {
    let text = doc(
        "\"deployment\": {\"strategy\": \"fast\", \"healthcheck_timeout\": -2, \"keep_generations\": 0}, \"resources\": {\"cpu\": -1}",
    );
    let paths: Vec<String> = problems(&text).into_iter().map(|p| p.path).collect();
    assert_eq!(
        paths,
        [
            "deployment.strategy",
            "deployment.healthcheck_timeout",
            "deployment.keep_generations",
            "resources.cpu"
        ]
    );
}
