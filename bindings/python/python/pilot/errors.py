"""The exceptions Pilot raises.

Every one derives from :class:`PilotError`; ``str(error)`` is the whole
message (what went wrong and what to do next) and the attributes carry the
details as values, so code never has to parse messages::

    try:
        config = pilot.load_config("app/config.vpspilot.json")
    except pilot.ConfigError as error:
        for problem in error.problems:
            print(problem.path, problem.message, problem.hint)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence

if TYPE_CHECKING:
    from ._native import Deployment, Problem

__all__ = [
    "PilotError",
    "ConfigError",
    "ValidationError",
    "NotFoundError",
    "BusyError",
    "NixError",
    "StoreError",
    "DeployError",
    "DeploymentFailed",
]


class PilotError(Exception):
    """Base class of every error Pilot raises."""


class ConfigError(PilotError, ValueError):
    """A ``config.vpspilot.json`` could not be read or is not valid.

    Attributes:
        problems: every problem found, in file order, each a
            :class:`pilot.Problem` with ``path``, ``message``, ``hint``,
            ``line`` and ``column``; empty when the file could not be read.
        path: the file, when the config came from one (else ``None``).
    """

    problems: List[Problem]
    path: Optional[str]

    def __init__(
        self, message: str, problems: Sequence[Problem] = (), path: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.problems = list(problems)
        self.path = path


class ValidationError(PilotError, ValueError):
    """A value given to Pilot is not acceptable (a project name, a query option...).

    Attributes:
        field: the argument or field that was rejected, e.g. ``"project"`` or ``"agg"``.
    """

    field: str

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(PilotError, LookupError):
    """Something named does not exist: a project, a generation, a store file.

    Attributes:
        kind: what was looked for, e.g. ``"project"``, ``"generation"``, ``"store"``.
        name: its name as given.
    """

    kind: str
    name: str

    def __init__(self, message: str, kind: str = "", name: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name


class BusyError(PilotError):
    """Another deployment of the same project is running; wait for it to finish.

    Attributes:
        project: the project.
    """

    project: str

    def __init__(self, message: str, project: str = "") -> None:
        super().__init__(message)
        self.project = project


class NixError(PilotError):
    """Generating or using a Nix flake failed."""


class StoreError(PilotError):
    """The metrics store could not be opened, read or written."""


class DeployError(PilotError):
    """The local deploy engine could not do what was asked.

    Attributes:
        project: the project concerned, when known.
    """

    project: Optional[str]

    def __init__(self, message: str, project: Optional[str] = None) -> None:
        super().__init__(message)
        self.project = project


class DeploymentFailed(DeployError):
    """A deployment or rollback ran to its end without succeeding.

    The previous release kept (or got back) the traffic. Raised by
    ``Deployer.deploy`` and ``Deployer.rollback`` unless ``check=False``.

    Attributes:
        deployment: the finished :class:`pilot.Deployment` (its ``steps``
            show which step failed).
        state: ``"failed"`` (before traffic moved) or ``"rolled_back"``
            (unhealthy after the switch).
        reason: why, with secrets masked.
    """

    deployment: Deployment
    state: str
    reason: str

    def __init__(
        self,
        message: str,
        project: Optional[str] = None,
        deployment: Any = None,
        state: str = "failed",
        reason: str = "",
    ) -> None:
        super().__init__(message, project)
        self.deployment = deployment
        self.state = state
        self.reason = reason
