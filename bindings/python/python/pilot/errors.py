"""The exceptions Pilot raises.

Every one derives from :class:`PilotError`; ``str(error)`` is the whole
message (what went wrong and what to do next) and the attributes carry the
details as values, so code never has to parse messages::

    try:
        config = pilot.load_config("app/config.vpspilot.json")
    except pilot.ConfigError as error:
        for problem in error.problems:
            print(problem.path, problem.message, problem.hint)

Errors of a Pilot server's API (from :class:`pilot.Client`) are
:class:`ApiError` exceptions carrying the HTTP ``status``, the API's stable ``code``
and its ``details``; :class:`NotFoundError` and :class:`ConfigError` are
among them, and are also raised by local calls (with ``status`` ``None``).
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
    "ApiError",
    "AuthError",
    "ForbiddenError",
    "UnreachableError",
]


class PilotError(Exception):
    """Base class of every error Pilot raises."""


class ApiError(PilotError):
    """A Pilot server answered a :class:`pilot.Client` call with an error.

    Attributes:
        status: the HTTP status, e.g. ``409``; ``None`` when the error was
            raised locally (a :class:`NotFoundError` or :class:`ConfigError`
            of a local call).
        code: the API's stable error code, e.g. ``"not_found"``,
            ``"invalid_config"``, ``"conflict"``, ``"busy"``.
        message: what is wrong and what to do, as the server said it.
        details: the structured details the server sent (the problems of
            an invalid config), else ``None``.
    """

    status: Optional[int]
    code: str
    message: str
    details: Any

    def __init__(
        self, message: str, status: Optional[int] = None, code: str = "", details: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class AuthError(ApiError):
    """Not logged in: no session token, an expired or revoked one, or a
    wrong user name or password (HTTP 401). Log in with
    :meth:`pilot.Client.login`."""


class ForbiddenError(ApiError, PermissionError):
    """The logged-in user's role does not allow the call (HTTP 403); ask an
    admin, or log in as one."""


class UnreachableError(PilotError, ConnectionError):
    """The Pilot server could not be reached, or the connection broke.

    Attributes:
        url: the server's base URL.
    """

    url: str

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class ConfigError(ApiError, ValueError):
    """A ``config.vpspilot.json`` could not be read or is not valid.

    Raised by local calls, and by :class:`pilot.Client` calls the server
    rejected with ``invalid_config`` (HTTP 422, ``status`` set).

    Attributes:
        problems: every problem found, in file order, each a
            :class:`pilot.Problem` with ``path``, ``message``, ``hint``,
            ``line`` and ``column``; empty when the file could not be read.
        path: the file, when the config came from one (else ``None``).
    """

    problems: List[Problem]
    path: Optional[str]

    def __init__(
        self,
        message: str,
        problems: Sequence[Problem] = (),
        path: Optional[str] = None,
        status: Optional[int] = None,
        code: str = "invalid_config",
        details: Any = None,
    ) -> None:
        super().__init__(message, status, code, details)
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


class NotFoundError(ApiError, LookupError):
    """Something named does not exist: a project, a generation, a store file,
    a node (HTTP 404 from a server, ``status`` ``None`` from a local call).

    Attributes:
        kind: what was looked for, e.g. ``"project"``, ``"generation"``, ``"store"``.
        name: its name as given.
    """

    kind: str
    name: str

    def __init__(
        self,
        message: str,
        kind: str = "",
        name: str = "",
        status: Optional[int] = None,
        code: str = "not_found",
        details: Any = None,
    ) -> None:
        super().__init__(message, status, code, details)
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
