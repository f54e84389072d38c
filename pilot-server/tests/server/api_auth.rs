//! Authentication and authorisation of every route, login throttling,
//! password changes and user administration.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::api::{ADMIN_PASSWORD, TestApi, VIEWER_PASSWORD};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use pilot_server::testing::FakeNodes;
use serde_json::json;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No session needed.
    Public,
    /// Any signed-in user.
    Read,
    /// Any signed-in user, changing only their own account.
    Own,
    /// Admins only.
    Admin,
}

/// Every route the server answers, as the OpenAPI document lists it.
const ROUTES: &[(&str, &str, Access)] = &[
    ("POST", "/api/v1/auth/login", Access::Public),
    ("GET", "/api/v1/auth/verify", Access::Read),
    ("POST", "/api/v1/auth/password", Access::Own),
    ("GET", "/api/v1/users", Access::Admin),
    ("POST", "/api/v1/users", Access::Admin),
    ("DELETE", "/api/v1/users/{username}", Access::Admin),
    ("PUT", "/api/v1/users/{username}/role", Access::Admin),
    ("PUT", "/api/v1/users/{username}/password", Access::Admin),
    ("GET", "/api/v1/nodes", Access::Read),
    ("POST", "/api/v1/nodes", Access::Admin),
    ("GET", "/api/v1/nodes/{name}", Access::Read),
    ("DELETE", "/api/v1/nodes/{name}", Access::Admin),
    ("POST", "/api/v1/nodes/{name}/token", Access::Admin),
    ("GET", "/api/v1/nodes/{name}/metrics/latest", Access::Read),
    ("GET", "/api/v1/nodes/{name}/processes", Access::Read),
    ("GET", "/api/v1/projects", Access::Read),
    ("POST", "/api/v1/projects", Access::Admin),
    ("POST", "/api/v1/projects/{name}/upload", Access::Admin),
    ("GET", "/api/v1/projects/{name}", Access::Read),
    ("DELETE", "/api/v1/projects/{name}", Access::Admin),
    ("PUT", "/api/v1/projects/{name}/config", Access::Admin),
    ("GET", "/api/v1/projects/{name}/webhook", Access::Admin),
    ("POST", "/api/v1/projects/{name}/deploy", Access::Admin),
    (
        "POST",
        "/api/v1/projects/{name}/deploy/archive",
        Access::Admin,
    ),
    ("POST", "/api/v1/projects/{name}/rollback", Access::Admin),
    ("POST", "/api/v1/projects/{name}/start", Access::Admin),
    ("POST", "/api/v1/projects/{name}/stop", Access::Admin),
    ("POST", "/api/v1/projects/{name}/restart", Access::Admin),
    ("GET", "/api/v1/rollouts/{id}", Access::Read),
    ("GET", "/api/v1/projects/{name}/deployments", Access::Read),
    ("GET", "/api/v1/deployments/{id}", Access::Read),
    ("GET", "/api/v1/projects/{name}/env", Access::Read),
    ("PUT", "/api/v1/projects/{name}/env/{key}", Access::Admin),
    ("DELETE", "/api/v1/projects/{name}/env/{key}", Access::Admin),
    ("GET", "/api/v1/projects/{name}/logs", Access::Read),
    ("GET", "/api/v1/projects/{name}/logs/ws", Access::Read),
    ("GET", "/api/v1/metrics/query", Access::Read),
    ("GET", "/api/v1/system", Access::Read),
    ("GET", "/api/v1/ws", Access::Read),
    ("POST", "/api/v1/webhooks/github/{name}", Access::Public),
    ("GET", "/api/v1/openapi.json", Access::Public),
    ("GET", "/health", Access::Public),
    ("GET", "/metrics", Access::Read),
];

/// A concrete path for a route template.
fn concrete(template: &str) -> String {
    template
        .replace("{username}", "nobody")
        .replace("{name}", "shop")
        .replace("{id}", "r0")
        .replace("{key}", "DB_PASSWORD")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("method")
}

/// Calls every non-public route with `token` and returns the statuses.
async fn statuses(api: &TestApi, token: Option<&str>) -> Vec<(String, StatusCode)> {
    let mut out = Vec::new();
    for (verb, template, access) in ROUTES {
        if *access == Access::Public {
            continue;
        }
        let path = concrete(template);
        let reply = api.call(method(verb), &path, token, Body::from("{}")).await;
        out.push((format!("{verb} {template}"), reply.status));
    }
    out
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[tokio::test]
async fn the_route_table_is_the_openapi_document() {
    let document = serde_json::to_value(pilot_server::api::openapi()).expect("document");
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for verb in ["get", "post", "put", "delete", "patch"] {
            if item.get(verb).is_some() {
                documented.insert(format!("{} {path}", verb.to_uppercase()));
            }
        }
    }
    let table: BTreeSet<String> = ROUTES.iter().map(|(v, p, _)| format!("{v} {p}")).collect();
    assert_eq!(
        documented, table,
        "every served route is documented and tested"
    );
    let schemes = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
}

#[tokio::test]
async fn missing_malformed_expired_and_revoked_tokens_are_refused_everywhere() {
    let api = TestApi::new().await;

    let ada = api.state.store.user("ada").await.unwrap().unwrap();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": "ada", "uid": ada.id, "epoch": 0, "iat": unix_secs() - 7200, "exp": unix_secs() - 3600 }),
        &jsonwebtoken::EncodingKey::from_secret(&api.state.settings.jwt_secret),
    )
    .unwrap();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": "ada", "uid": ada.id, "epoch": 0, "iat": unix_secs(), "exp": unix_secs() + 3600 }),
        &jsonwebtoken::EncodingKey::from_secret(b"another key of at least thirty-two bytes"),
    )
    .unwrap();

    // A token whose user changed the password since.
    let old = api.login("vic", VIEWER_PASSWORD).await;
    let changed = api
        .json(
            Method::POST,
            "/api/v1/auth/password",
            &old,
            json!({ "current": VIEWER_PASSWORD, "new": "a brand new password" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let fresh = changed.json()["token"].as_str().unwrap().to_string();

    let cases: [(&str, Option<&str>); 5] = [
        ("missing", None),
        ("malformed", Some("not-a-jwt")),
        ("expired", Some(&expired)),
        ("forged", Some(&forged)),
        ("revoked", Some(&old)),
    ];
    for (case, token) in cases {
        for (route, status) in statuses(&api, token).await {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{case} token on {route}");
        }
    }

    let basic = api
        .send({
            let mut r =
                crate::support::api::request(Method::GET, "/api/v1/nodes", None, Body::empty());
            r.headers_mut()
                .insert("authorization", "Basic YWRhOnB3".parse().unwrap());
            r
        })
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(basic.code(), "unauthorized");
    assert!(basic.headers.contains_key("www-authenticate"));

    let verify = api.get("/api/v1/auth/verify", &fresh).await;
    assert_eq!(verify.status, StatusCode::OK);
    assert_eq!(verify.json()["user"]["username"], "vic");
}

#[tokio::test]
async fn a_viewer_reads_but_changes_nothing() {
    let api = TestApi::new().await;
    let viewer = statuses(&api, Some(&api.viewer)).await;
    for ((route, status), (_, _, access)) in viewer
        .iter()
        .zip(ROUTES.iter().filter(|r| r.2 != Access::Public))
    {
        match access {
            Access::Admin => assert_eq!(*status, StatusCode::FORBIDDEN, "viewer on {route}"),
            Access::Read | Access::Own => assert!(
                *status != StatusCode::FORBIDDEN && *status != StatusCode::UNAUTHORIZED,
                "viewer on {route} got {status}"
            ),
            Access::Public => unreachable!("filtered"),
        }
    }
    // The admin passes the role check everywhere.
    for (route, status) in statuses(&api, Some(&api.admin)).await {
        assert!(
            status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
            "admin on {route} got {status}"
        );
    }
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let api = TestApi::new().await;
    for path in ["/health", "/api/v1/openapi.json"] {
        let reply = api.call(Method::GET, path, None, Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
    // The dashboard needs a session: signed out, it sends people to sign in
    // and shows nothing of the inventory.
    for path in [
        "/",
        "/nodes/web-1",
        "/projects/new",
        "/users",
        "/settings",
        "/alerts",
    ] {
        let reply = api.call(Method::GET, path, None, Body::empty()).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert!(!reply.text().contains("web-1"), "{path}");
    }
    let page = api.page("/", &api.viewer).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("web-1"), "{}", page.text());
    let unknown = api
        .call(Method::GET, "/api/v1/nope", None, Body::empty())
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "not_found");
}

#[tokio::test]
async fn failed_logins_are_throttled_with_growing_waits_and_success_resets() {
    let api = TestApi::build(FakeNodes::new(), |s| {
        s.login_policy.free_failures = 3;
        s.login_policy.base_delay = Duration::from_secs(1);
    })
    .await;
    let attempt = |password: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                crate::support::api::json_body(&json!({ "username": "ada", "password": password })),
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = attempt(ADMIN_PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert_eq!(refused.code(), "rate_limited");
    assert_eq!(refused.headers["retry-after"], "1");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        attempt("wrong again").await.status,
        StatusCode::UNAUTHORIZED
    );
    let longer = attempt(ADMIN_PASSWORD).await;
    assert_eq!(longer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(longer.headers["retry-after"], "2", "the wait doubled");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(attempt(ADMIN_PASSWORD).await.status, StatusCode::OK);
    assert_eq!(
        attempt("one more mistake").await.status,
        StatusCode::UNAUTHORIZED,
        "success cleared the count"
    );
}

#[tokio::test]
async fn the_sign_in_form_shares_the_api_login_throttle() {
    let api = TestApi::build(FakeNodes::new(), |s| {
        s.login_policy.free_failures = 1;
        s.login_policy.base_delay = Duration::from_secs(60);
    })
    .await;
    let failed = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            crate::support::api::json_body(&json!({ "username": "ada", "password": "wrong" })),
        )
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);

    // The form's CSRF token is in its cookie and in a hidden field.
    let form = api.call(Method::GET, "/login", None, Body::empty()).await;
    let token = form
        .headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pilot_login="))
        .and_then(|v| v.split(';').next())
        .expect("GET /login sets the form's cookie")
        .to_string();
    let password = ADMIN_PASSWORD.replace(' ', "+");
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(axum::http::header::COOKIE, format!("pilot_login={token}"))
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(Body::from(format!(
            "username=ada&password={password}&csrf={token}&next="
        )))
        .unwrap();
    let reply = api.send(request).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits: {}",
        reply.text()
    );
    assert!(
        !reply
            .headers
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap_or_default().starts_with("pilot_session=")),
        "a throttled sign-in set a session"
    );
}

#[tokio::test]
async fn one_client_address_guessing_many_names_is_throttled() {
    let api = TestApi::new().await;
    for name in ["eve1", "eve2", "eve3"] {
        let reply = api
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                crate::support::api::json_body(
                    &json!({ "username": name, "password": "guess guess" }),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = api
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            crate::support::api::json_body(
                &json!({ "username": "eve4", "password": "guess guess" }),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn users_are_administered_and_deleted_users_lose_their_sessions() {
    let api = TestApi::new().await;
    let created = api
        .json(
            Method::POST,
            "/api/v1/users",
            &api.admin,
            json!({ "username": "bob", "password": "bob's long password", "role": "viewer" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert!(!created.text().contains("bob's long password"));
    let bob = api.login("bob", "bob's long password").await;

    let promoted = api
        .json(
            Method::PUT,
            "/api/v1/users/bob/role",
            &api.admin,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(promoted.json()["role"], "admin");
    // The role change applies to bob's existing token at once.
    assert_eq!(api.get("/api/v1/users", &bob).await.status, StatusCode::OK);

    let short = api
        .json(
            Method::POST,
            "/api/v1/users",
            &api.admin,
            json!({ "username": "tiny", "password": "short", "role": "viewer" }),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);

    let deleted = api
        .json(
            Method::DELETE,
            "/api/v1/users/bob",
            &api.admin,
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v1/auth/verify", &bob).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Recreated under the same name, the old token stays dead.
    api.state
        .store
        .create_user(
            "bob",
            "bob's long password",
            pilot_store::records::Role::Admin,
        )
        .await
        .unwrap();
    assert_eq!(
        api.get("/api/v1/auth/verify", &bob).await.status,
        StatusCode::UNAUTHORIZED
    );

    let last_admin = api
        .json(
            Method::DELETE,
            "/api/v1/users/ada",
            &api.admin,
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(
        last_admin.status,
        StatusCode::NO_CONTENT,
        "bob is admin too"
    );
    let users = api.login("bob", "bob's long password").await;
    let only = api
        .json(
            Method::PUT,
            "/api/v1/users/bob/role",
            &users,
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(
        only.status,
        StatusCode::CONFLICT,
        "the last admin stays admin"
    );

    let audit = pilot_store::SqlStore::audit_entries(
        &api.state.store,
        &pilot_store::records::AuditFilter::default(),
    )
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["user.create", "user.role", "user.delete"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let text = serde_json::to_string(&audit.iter().map(|e| &e.detail).collect::<Vec<_>>()).unwrap();
    assert!(!text.contains("password"), "{text}");
}

#[tokio::test]
async fn a_wrong_current_password_does_not_change_it() {
    let api = TestApi::new().await;
    let reply = api
        .json(
            Method::POST,
            "/api/v1/auth/password",
            &api.viewer,
            json!({ "current": "not it at all", "new": "whatever password" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.get("/api/v1/auth/verify", &api.viewer).await.status,
        StatusCode::OK
    );
    api.login("vic", VIEWER_PASSWORD).await;
}

#[tokio::test]
async fn two_sessions_of_one_user_in_the_same_second_differ() {
    let api = TestApi::new().await;
    let first = api.login("vic", VIEWER_PASSWORD).await;
    let second = api.login("vic", VIEWER_PASSWORD).await;
    assert_ne!(first, second, "their CSRF tokens would be the same too");
}

#[tokio::test]
async fn changes_apply_at_once_to_tokens_used_just_before() {
    let api = TestApi::new().await;
    let verify = |token: String| {
        let api = &api;
        async move { api.get("/api/v1/auth/verify", &token).await.status }
    };
    for _ in 0..3 {
        assert_eq!(verify(api.viewer.clone()).await, StatusCode::OK);
    }

    // A new role applies to the very next request.
    assert_eq!(
        api.get("/api/v1/users", &api.viewer).await.status,
        StatusCode::FORBIDDEN
    );
    let promoted = api
        .json(
            Method::PUT,
            "/api/v1/users/vic/role",
            &api.admin,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text());
    assert_eq!(
        api.get("/api/v1/users", &api.viewer).await.status,
        StatusCode::OK
    );

    // A password change ends every earlier session, even one just used.
    let second = api.login("vic", VIEWER_PASSWORD).await;
    assert_eq!(verify(second.clone()).await, StatusCode::OK);
    let changed = api
        .json(
            Method::POST,
            "/api/v1/auth/password",
            &api.viewer,
            json!({ "current": VIEWER_PASSWORD, "new": "a brand new password" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(verify(api.viewer.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(verify(second).await, StatusCode::UNAUTHORIZED);
    let fresh = changed.json()["token"].as_str().unwrap().to_string();
    assert_eq!(verify(fresh.clone()).await, StatusCode::OK);

    // Deleting the user ends the session they were using a moment ago.
    let deleted = api
        .json(
            Method::DELETE,
            "/api/v1/users/vic",
            &api.admin,
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(verify(fresh).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revocation_by_another_server_is_confirmed_before_refusing() {
    let api = TestApi::new().await;
    let old = api.viewer.clone();
    assert_eq!(
        api.get("/api/v1/auth/verify", &old).await.status,
        StatusCode::OK
    );

    // Another server on the same database revokes vic's sessions and
    // issues a new one; this server has vic's old epoch in memory.
    let vic = api.state.store.user("vic").await.unwrap().unwrap();
    pilot_store::SqlStore::set_setting(&api.state.store, "auth.session_epoch.vic", "1")
        .await
        .unwrap();
    let newer = pilot_server::api::issue_session(&api.state, vic)
        .await
        .unwrap()
        .token;
    assert_eq!(
        api.get("/api/v1/auth/verify", &newer).await.status,
        StatusCode::OK,
        "the newer token is accepted at once"
    );
    assert_eq!(
        api.get("/api/v1/auth/verify", &old).await.status,
        StatusCode::UNAUTHORIZED,
        "having read the store again, the old one is refused"
    );
}

#[tokio::test]
async fn with_no_account_cache_direct_store_changes_apply_at_once() {
    let api = TestApi::build(FakeNodes::new(), |settings| {
        settings.account_cache_ttl = Duration::ZERO;
    })
    .await;
    assert_eq!(
        api.get("/api/v1/users", &api.viewer).await.status,
        StatusCode::FORBIDDEN
    );
    api.state
        .store
        .set_role("vic", pilot_store::records::Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        api.get("/api/v1/users", &api.viewer).await.status,
        StatusCode::OK
    );
}
