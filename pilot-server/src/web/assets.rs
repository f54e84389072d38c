//! The browser files of `pilot-server/web/`, embedded in the binary and
//! served under names carrying a hash of their content, so they can be
//! cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    /// Its name in `web/`, e.g. `app.js`.
    name: &'static str,
    /// The name it is served under, e.g. `app.3f2a9c1d.js`.
    hashed: String,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $type:literal) => {
        (
            $name,
            $type,
            include_bytes!(concat!("../../web/", $path)) as &'static [u8],
        )
    };
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        asset!("app.js", "app.js", "text/javascript; charset=utf-8"),
        asset!("app.css", "app.css", "text/css; charset=utf-8"),
        asset!(
            "uPlot.js",
            "vendor/uPlot.iife.min.js",
            "text/javascript; charset=utf-8"
        ),
        asset!(
            "uPlot.css",
            "vendor/uPlot.min.css",
            "text/css; charset=utf-8"
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| {
        let digest = hex::encode(&Sha256::digest(body)[..6]);
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        Asset {
            name,
            hashed: format!("{stem}.{digest}.{ext}"),
            content_type,
            body,
        }
    })
    .collect()
});

/// The URL of the embedded file `name` (`app.js`, `app.css`, `uPlot.js`,
/// `uPlot.css`).
pub(crate) fn url(name: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map_or_else(String::new, |a| format!("/assets/{}", a.hashed))
}

/// `GET /assets/{file}`: an embedded file by its hashed name.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.hashed == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_hashed_url() {
        for name in ["app.js", "app.css", "uPlot.js", "uPlot.css"] {
            let url = url(name);
            assert!(url.starts_with("/assets/"), "{name}: {url}");
            assert_ne!(url, format!("/assets/{name}"));
        }
        assert_eq!(url("missing.js"), "");
    }
}
