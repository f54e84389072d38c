//! Where the collection loop learns, each cycle, which services to measure.

use std::sync::Arc;

use async_trait::async_trait;
use pilot_core::{ServiceManager, ServiceStatus};

use crate::collector::ServiceTarget;

/// Tells the collection loop which services run right now.
#[async_trait]
pub trait ServiceTargets: Send + Sync {
    /// The services to measure in this collection.
    async fn targets(&self) -> pilot_core::Result<Vec<ServiceTarget>>;
}

/// A fixed list of services.
#[async_trait]
impl ServiceTargets for Vec<ServiceTarget> {
    async fn targets(&self) -> pilot_core::Result<Vec<ServiceTarget>> {
        Ok(self.clone())
    }
}

/// The running services of a [`ServiceManager`], each measured through its
/// main pid (for the embedded supervisor: the leader of the service's
/// session, so processes that left the group are still counted).
#[derive(Clone)]
pub struct ManagedServices {
    manager: Arc<dyn ServiceManager>,
}

impl ManagedServices {
    /// Targets taken from `manager`'s service list.
    pub fn new(manager: Arc<dyn ServiceManager>) -> Self {
        ManagedServices { manager }
    }

    /// The target for one status; `None` unless it is running with a pid.
    pub fn target(status: &ServiceStatus) -> Option<ServiceTarget> {
        let pid = status.pid.filter(|_| status.is_running())?;
        Some(ServiceTarget::process(status.name.clone(), pid))
    }
}

impl std::fmt::Debug for ManagedServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedServices")
            .field("manager", &self.manager.name())
            .finish()
    }
}

#[async_trait]
impl ServiceTargets for ManagedServices {
    async fn targets(&self) -> pilot_core::Result<Vec<ServiceTarget>> {
        let statuses = self.manager.list().await?;
        Ok(statuses
            .iter()
            .filter_map(ManagedServices::target)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::service::ServiceState;

    fn status(name: &str, state: ServiceState, pid: Option<u32>) -> ServiceStatus {
        ServiceStatus {
            name: name.into(),
            state,
            pid,
            started_at: None,
            restarts: 0,
            last_exit: None,
        }
    }

    #[test]
    fn only_running_services_with_a_pid_are_targets() {
        let running = status("shop-g2", ServiceState::Running, Some(42));
        assert_eq!(
            ManagedServices::target(&running),
            Some(ServiceTarget::process("shop-g2", 42))
        );
        assert_eq!(
            ManagedServices::target(&status("a", ServiceState::Stopped, Some(1))),
            None
        );
        assert_eq!(
            ManagedServices::target(&status("a", ServiceState::Running, None)),
            None
        );
    }

    #[tokio::test]
    async fn a_fixed_list_is_returned_as_is() {
        let list = vec![ServiceTarget::process("a-g1", 1)];
        assert_eq!(list.targets().await.unwrap(), list);
    }
}
