//! Browser sessions: the session token in an HttpOnly cookie, and the CSRF
//! token every state-changing request sent with that cookie must carry.
//!
//! The CSRF token is an HMAC of the session token under the server's
//! signing key: it needs no storage, differs for every session, and cannot
//! be derived by a page of another site (which can neither read the
//! cookie nor the dashboard's pages).

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The cookie holding a browser's session token.
pub const SESSION_COOKIE: &str = "pilot_session";
/// The header carrying the CSRF token of requests made by the dashboard.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

fn mac(key: &[u8], session_token: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(b"pilot csrf\0");
    mac.update(session_token.as_bytes());
    mac
}

/// The CSRF token of a session.
pub fn csrf_token(key: &[u8], session_token: &str) -> String {
    hex::encode(mac(key, session_token).finalize().into_bytes())
}

/// Whether `presented` is the CSRF token of the session (in constant time).
pub fn csrf_matches(key: &[u8], session_token: &str, presented: &str) -> bool {
    match hex::decode(presented.trim()) {
        Ok(bytes) => mac(key, session_token).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; pilot_session=tok"));
        headers.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "pilot"), None);
    }

    #[test]
    fn a_csrf_token_belongs_to_one_session_and_key() {
        let key = [7u8; 32];
        let token = csrf_token(&key, "session-a");
        assert!(csrf_matches(&key, "session-a", &token));
        assert!(!csrf_matches(&key, "session-b", &token));
        assert!(!csrf_matches(&[8u8; 32], "session-a", &token));
        assert!(!csrf_matches(&key, "session-a", "not hex"));
        assert!(!csrf_matches(&key, "session-a", ""));
    }
}
