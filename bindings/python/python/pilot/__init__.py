"""Pilot from Python: configs, generated flakes, metrics and local deploys.

- :func:`load_config` / :func:`validate_config` return a typed
  :class:`Config` or raise :class:`ConfigError` listing every problem with
  its JSON path, line, column and a hint;
- :func:`render_flake` gives the Nix flake Pilot generates for a config and
  :func:`supported_versions` the runtime versions it can provide;
- :class:`MetricsStore` reads a Pilot server's timeseries store, as lists
  of ``(timestamp_ms, value)`` or as numpy arrays;
- :class:`Deployer` deploys app directories on this machine with zero
  downtime and rolls them back, as a Pilot agent does;
- :class:`Client` drives a Pilot server's API (nodes, projects, deploys
  with live progress, rollbacks, logs, secrets, metrics), and
  :class:`Server` runs a server with a local agent in this process.

Every error is a :class:`PilotError` (see :mod:`pilot.errors`). Calls that
wait (queries, deploys) release the GIL.
"""

from . import errors
from ._native import (
    BuildSection,
    Client,
    CommandSection,
    Config,
    Deployer,
    Deployment,
    DeploymentSection,
    Generation,
    MetricsStore,
    NixSection,
    Problem,
    ProjectStatus,
    Resources,
    Rollout,
    RolloutNode,
    Runtimes,
    Series,
    SeriesArrays,
    SeriesPoints,
    Server,
    Session,
    Step,
    __version__,
    load_config,
    render_flake,
    supported_versions,
    validate_config,
)
from .errors import (
    ApiError,
    AuthError,
    BusyError,
    ConfigError,
    DeployError,
    DeploymentFailed,
    ForbiddenError,
    NixError,
    NotFoundError,
    PilotError,
    StoreError,
    UnreachableError,
    ValidationError,
)

__all__ = [
    "__version__",
    # config
    "load_config",
    "validate_config",
    "Config",
    "Problem",
    "Runtimes",
    "BuildSection",
    "CommandSection",
    "NixSection",
    "DeploymentSection",
    "Resources",
    # nix
    "render_flake",
    "supported_versions",
    # metrics
    "MetricsStore",
    "Series",
    "SeriesPoints",
    "SeriesArrays",
    # local deploys
    "Deployer",
    "Deployment",
    "Step",
    "Generation",
    "ProjectStatus",
    # servers
    "Client",
    "Server",
    "Session",
    "Rollout",
    "RolloutNode",
    # errors
    "errors",
    "PilotError",
    "ConfigError",
    "ValidationError",
    "NotFoundError",
    "BusyError",
    "NixError",
    "StoreError",
    "DeployError",
    "DeploymentFailed",
    "ApiError",
    "AuthError",
    "ForbiddenError",
    "UnreachableError",
]
