//! Start, stop, restart and remove a project.

use pilot_core::Result;
use pilot_core::fsutil::remove_dir_all_if_exists;
use pilot_core::layout::validate_project_name;
use pilot_core::protocol::CommandOutcome;

use super::Dispatcher;

/// What to do with a project's live release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Start it again.
    Start,
    /// Stop it.
    Stop,
    /// Stop and start it.
    Restart,
}

impl Dispatcher {
    /// Starts, stops or restarts the project's live release.
    pub(super) async fn control(&self, project: &str, action: Control) -> CommandOutcome {
        let result = match action {
            Control::Start => self.engine.start(project).await,
            Control::Stop => self.engine.stop(project).await,
            Control::Restart => self.engine.restart(project).await,
        };
        done(result)
    }

    /// Stops every service of the project, closes its public port and
    /// deletes its releases, state and logs. Removing an unknown project
    /// succeeds: there is nothing left of it either way.
    pub(super) async fn remove(&self, project: &str) -> CommandOutcome {
        done(self.remove_project(project).await)
    }

    async fn remove_project(&self, project: &str) -> Result<()> {
        validate_project_name(project)?;
        let parts = self.engine.parts();
        for status in parts.services.list().await? {
            if is_service_of(project, &status.name) {
                parts.services.remove(&status.name).await?;
            }
        }
        parts.router.remove_route(project).await?;
        let layout = self.engine.layout();
        remove_dir_all_if_exists(&layout.project_dir(project))?;
        remove_dir_all_if_exists(&layout.logs_dir(project))?;
        tracing::info!(project, "project removed");
        Ok(())
    }
}

/// Whether `service` is one of `project`'s generations, `<project>-g<N>`
/// (and not a service of a project whose name merely starts the same).
fn is_service_of(project: &str, service: &str) -> bool {
    service
        .strip_prefix(project)
        .and_then(|rest| rest.strip_prefix("-g"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A command without a deployment: succeeded or failed with the error.
fn done(result: Result<()>) -> CommandOutcome {
    match result {
        Ok(()) => CommandOutcome::Succeeded {
            deployment: None,
            generation: None,
        },
        Err(error) => CommandOutcome::Failed {
            error: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_belong_to_exactly_one_project() {
        assert!(is_service_of("shop", "shop-g1"));
        assert!(is_service_of("shop", "shop-g12"));
        assert!(!is_service_of("shop", "shop-g"));
        assert!(!is_service_of("shop", "shop-g1-g2"));
        assert!(is_service_of("shop-g1", "shop-g1-g2"));
        assert!(!is_service_of("shop", "shopping-g1"));
        assert!(!is_service_of("shop", "blog-g1"));
    }
}
