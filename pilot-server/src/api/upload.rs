//! Uploaded archives and git sources, read on the server only to check the
//! app's `config.vpspilot.json`.
//!
//! Bodies are bounded by the upload limit while they are read. Archives
//! are unpacked only through `pilot_core::source::fetch` (which refuses
//! entries escaping the release, links pointing out of it, and releases
//! over the unpack limits) into a temporary directory removed afterwards.

use std::path::Path;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use pilot_core::AppConfig;
use pilot_core::config::{self, ConfigError, Problem};
use pilot_core::source::{self, GitRef, SourceSpec};
use tempfile::TempDir;

use super::error::{ApiError, ApiResult};
use super::state::AppState;

/// A request body holding a `.zip` or `.tar.gz`, read up to the upload limit.
#[derive(Debug)]
pub(crate) struct ArchiveBody(pub Vec<u8>);

impl FromRequest<AppState> for ArchiveBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> ApiResult<Self> {
        let limit = state.settings.upload_limit;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApiError::TooLarge { limit });
        }
        let bytes = read_limited(request.into_body(), limit).await?;
        if bytes.is_empty() {
            return Err(ApiError::invalid(
                "body",
                "it is empty; send the app as a .zip or .tar.gz archive",
            ));
        }
        Ok(ArchiveBody(bytes))
    }
}

/// Reads a body, failing with [`ApiError::TooLarge`] past `limit` bytes.
async fn read_limited(body: Body, limit: usize) -> ApiResult<Vec<u8>> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::TooLarge { limit })
        }
        Err(e) => Err(ApiError::invalid(
            "body",
            format!("it could not be read: {e}; send it again"),
        )),
    }
}

/// A fresh temporary directory under the data directory.
fn scratch(state: &AppState, prefix: &str) -> ApiResult<TempDir> {
    let parent = state.settings.tmp_dir();
    std::fs::create_dir_all(&parent).map_err(|source| ApiError::Io {
        action: "create directory",
        path: parent.clone(),
        cause: source,
    })?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&parent)
        .map_err(|source| ApiError::Io {
            action: "create a temporary directory in",
            path: parent,
            cause: source,
        })
}

/// Reads and checks the config at the root of a fetched release.
fn load_config(release: &Path) -> ApiResult<AppConfig> {
    match config::load(release) {
        Ok(config) => Ok(config),
        Err(ConfigError::Read { .. }) => {
            Err(ApiError::InvalidConfig(ConfigError::from_problems(vec![
                Problem::new(
                    "",
                    format!("the app has no readable {}", config::CONFIG_FILE_NAME),
                )
                .with_hint(format!(
                    "add {} at the root of the repository or archive",
                    config::CONFIG_FILE_NAME
                )),
            ])))
        }
        Err(e) => Err(ApiError::InvalidConfig(e)),
    }
}

/// Unpacks an archive into a temporary directory and returns the app's
/// config; when `need_config` is false a missing or invalid config is
/// `None` instead of an error.
pub(crate) async fn archive_config(
    state: &AppState,
    archive: &[u8],
    need_config: bool,
) -> ApiResult<Option<AppConfig>> {
    let dir = scratch(state, "upload-")?;
    let file = dir.path().join("archive");
    tokio::fs::write(&file, archive)
        .await
        .map_err(|source| ApiError::Io {
            action: "write",
            path: file.clone(),
            cause: source,
        })?;
    let release = dir.path().join("release");
    let spec = SourceSpec::Archive { path: file };
    source::fetch(&spec, &release, &state.settings.unpack_limits).await?;
    // A project with a pinned config ignores the release's own.
    let config = if need_config {
        Some(load_config(&release)?)
    } else {
        load_config(&release).ok()
    };
    drop(dir);
    Ok(config)
}

/// Fetches a git repository into a temporary directory and returns the
/// app's config.
pub(crate) async fn git_config(
    state: &AppState,
    url: &str,
    branch: Option<&str>,
) -> ApiResult<AppConfig> {
    let dir = scratch(state, "git-")?;
    let release = dir.path().join("release");
    let spec = SourceSpec::Git {
        url: url.to_string(),
        reference: branch.map_or(GitRef::Default, |b| GitRef::Branch(b.to_string())),
    };
    source::fetch(&spec, &release, &state.settings.unpack_limits).await?;
    load_config(&release)
}
