//! Keeping credentials in git URLs out of messages and logs.

/// Shortest secret replaced on its own in free text (shorter ones would
/// garble messages; they are still masked wherever the URL appears).
const MIN_SECRET_LEN: usize = 4;

/// Splits `scheme://userinfo@rest` into `("scheme://", "userinfo", "rest")`.
fn split(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let after = &url[scheme_end..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let at = after[..authority_end].rfind('@')?;
    Some((&url[..scheme_end], &after[..at], &after[at + 1..]))
}

/// True for `http://` and `https://` prefixes, where a bare user name is
/// usually an access token.
fn is_http(prefix: &str) -> bool {
    prefix.eq_ignore_ascii_case("http://") || prefix.eq_ignore_ascii_case("https://")
}

/// The URL with its password masked: `https://user:****@host/repo`. A bare
/// http(s) user name is masked too (`https://****@host/repo`).
pub(crate) fn mask(url: &str) -> String {
    let Some((prefix, userinfo, rest)) = split(url) else {
        return url.to_owned();
    };
    let masked = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:****"),
        None if is_http(prefix) => "****".to_owned(),
        None => userinfo.to_owned(),
    };
    format!("{prefix}{masked}@{rest}")
}

/// Replaces the URL and its secret parts in `message` with masked forms.
pub(crate) fn scrub(message: &str, url: &str) -> String {
    let Some((prefix, userinfo, _)) = split(url) else {
        return message.to_owned();
    };
    let mut out = message.replace(url, &mask(url));
    let secret = match userinfo.split_once(':') {
        Some((_, password)) => password,
        None if is_http(prefix) => userinfo,
        None => "",
    };
    if secret.len() >= MIN_SECRET_LEN {
        out = out.replace(secret, "****");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask("https://user:s3cret@host/repo.git"),
            "https://user:****@host/repo.git"
        );
        assert_eq!(
            mask("https://ghp_token@github.com/o/r"),
            "https://****@github.com/o/r"
        );
        assert_eq!(mask("ssh://git@host/repo"), "ssh://git@host/repo");
        assert_eq!(mask("https://host/a@b"), "https://host/a@b");
        assert_eq!(mask("/srv/repos/app"), "/srv/repos/app");
    }

    #[test]
    fn messages_are_scrubbed() {
        let url = "https://user:hunter22@host/repo";
        let message = format!("failed to fetch {url}: password hunter22 rejected");
        let scrubbed = scrub(&message, url);
        assert!(!scrubbed.contains("hunter22"), "{scrubbed}");
        assert!(
            scrubbed.contains("https://user:****@host/repo"),
            "{scrubbed}"
        );
    }
}
