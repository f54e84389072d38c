//! Deploy and rollback: run the engine, send the journal, then the outcome.

use std::path::{Path, PathBuf};

use pilot_core::NewRelease;
use pilot_core::config::AppConfig;
use pilot_core::engine::{DeployState, Deployment};
use pilot_core::protocol::{AgentMessage, ArchiveBytes, CommandId, CommandOutcome, DeploySecrets};
use pilot_core::source::SourceSpec;

use super::Dispatcher;

/// What a deploy command asks for.
pub(crate) struct DeployOrder {
    /// The project.
    pub project: String,
    /// Where the release comes from (replaced by `archive` when present).
    pub source: SourceSpec,
    /// A config replacing the release's own.
    pub config: Option<Box<AppConfig>>,
    /// The release itself, uploaded.
    pub archive: Option<ArchiveBytes>,
    /// The public port fixed by the server.
    pub public_port: Option<u16>,
    /// Deploy-time secrets.
    pub secrets: DeploySecrets,
}

impl Dispatcher {
    /// Deploys a release; an uploaded archive is written to a file of the
    /// agent's, fetched from there, and removed afterwards.
    pub(super) async fn deploy(&self, id: CommandId, order: DeployOrder) -> CommandOutcome {
        let upload = match order.archive {
            Some(archive) => {
                match UploadFile::write(&self.uploads_dir, id, &order.project, &archive.0) {
                    Ok(upload) => Some(upload),
                    Err(error) => {
                        return CommandOutcome::Failed {
                            error: error.to_string(),
                        };
                    }
                }
            }
            None => None,
        };
        let source = match &upload {
            Some(upload) => SourceSpec::Archive {
                path: upload.path.clone(),
            },
            None => order.source,
        };
        let mut request = NewRelease::new(order.project.clone(), source);
        request.secrets = order.secrets.into_secret_values();
        request.config = order.config.map(|config| *config);
        request.public_port = order.public_port;
        let _route = self.progress.route(&order.project, id);
        let result = self.engine.deploy(request).await;
        drop(upload);
        self.finish(id, result)
    }

    /// Rolls back to a kept generation (the previous one by default).
    pub(super) async fn rollback(
        &self,
        id: CommandId,
        project: &str,
        generation: Option<u64>,
    ) -> CommandOutcome {
        let _route = self.progress.route(project, id);
        let result = self.engine.rollback(project, generation).await;
        self.finish(id, result)
    }

    /// Sends the journal and turns it into the command's outcome.
    fn finish(&self, id: CommandId, result: pilot_core::Result<Deployment>) -> CommandOutcome {
        match result {
            Ok(deployment) => {
                let outcome = outcome_of(&deployment);
                self.outbox.push(AgentMessage::Journal {
                    command_id: id,
                    deployment: Box::new(deployment),
                });
                outcome
            }
            Err(error) => CommandOutcome::Failed {
                error: error.to_string(),
            },
        }
    }
}

/// The outcome of a finished deployment.
fn outcome_of(deployment: &Deployment) -> CommandOutcome {
    if deployment.state() == DeployState::Succeeded {
        CommandOutcome::Succeeded {
            deployment: Some(deployment.id.clone()),
            generation: Some(deployment.generation),
        }
    } else {
        let error = match deployment.clone().succeeded() {
            Err(error) => error.to_string(),
            Ok(_) => format!(
                "deployment {} of {} ended {}",
                deployment.id,
                deployment.project,
                deployment.state()
            ),
        };
        CommandOutcome::Failed { error }
    }
}

/// An uploaded archive on disk for the length of one deploy; removed on drop.
struct UploadFile {
    path: PathBuf,
}

impl UploadFile {
    /// Writes `bytes` to `<dir>/<command id>-<project>.upload` (mode 0600).
    fn write(dir: &Path, id: CommandId, project: &str, bytes: &[u8]) -> pilot_core::Result<Self> {
        pilot_core::layout::validate_project_name(project)?;
        let path = dir.join(format!("{id}-{project}.upload"));
        pilot_core::fsutil::write_atomic(&path, bytes, 0o600)?;
        Ok(UploadFile { path })
    }
}

impl Drop for UploadFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "could not remove an uploaded archive");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_written_privately_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let upload = UploadFile::write(dir.path(), CommandId(3), "shop", b"archive").unwrap();
        let mode = std::fs::metadata(&upload.path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(upload.path, dir.path().join("3-shop.upload"));
        let path = upload.path.clone();
        drop(upload);
        assert!(!path.exists());
        assert!(UploadFile::write(dir.path(), CommandId(4), "../x", b"a").is_err());
    }
}
