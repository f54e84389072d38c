"""Type stubs of ``pilot._native``, the compiled part of :mod:`pilot`.

Import everything from :mod:`pilot`, which re-exports it.
"""

from __future__ import annotations

import datetime
import os
import pathlib
from types import TracebackType
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Optional,
    Set,
    Tuple,
    Type,
    Union,
    final,
)

import numpy

__version__: str

_StrPath = Union[str, "os.PathLike[str]"]
_Time = Union[int, datetime.datetime]
"""Unix milliseconds, or a ``datetime`` (naive ones are local time)."""
_Duration = Union[int, datetime.timedelta]
"""Milliseconds, or a ``timedelta``."""
_Aggregation = Literal["avg", "min", "max", "sum", "count"]
_Sample = Union[Tuple[str, int, float], Tuple[str, int, float, Optional[Dict[str, str]]]]
"""``(metric, timestamp_ms, value)`` or ``(metric, timestamp_ms, value, labels)``."""

# --- config ---------------------------------------------------------------

@final
class Problem:
    """One problem found in a config: where it is and what to write instead."""

    @property
    def path(self) -> str:
        """JSON path of the offending value, e.g. ``"runtime.node"``; ``""`` for the whole document."""
    @property
    def message(self) -> str:
        """What is wrong."""
    @property
    def hint(self) -> Optional[str]:
        """What to write instead, when Pilot can tell."""
    @property
    def line(self) -> Optional[int]:
        """1-based line of the offending text, when known."""
    @property
    def column(self) -> Optional[int]:
        """1-based column of the offending text, when known."""

@final
class Runtimes:
    """Requested runtime versions (``None`` where not requested)."""

    @property
    def node(self) -> Optional[str]:
        """Node.js version, e.g. ``"20"``."""
    @property
    def php(self) -> Optional[str]:
        """PHP version, e.g. ``"8.2"``."""
    @property
    def python(self) -> Optional[str]:
        """Python version, e.g. ``"3.11"`` or ``"3.11.7"``."""
    @property
    def go(self) -> Optional[str]:
        """Go version, e.g. ``"1.22"``."""
    @property
    def ruby(self) -> Optional[str]:
        """Ruby version, e.g. ``"3.3"``."""
    def requested(self) -> Dict[str, str]:
        """The requested runtimes as ``{language: version}``."""

@final
class BuildSection:
    """The ``build`` section."""

    @property
    def commands(self) -> List[str]:
        """Shell commands run in order in the release directory."""

@final
class CommandSection:
    """A section holding one shell command (``start`` and ``test``)."""

    @property
    def command(self) -> str:
        """The shell command."""

@final
class NixSection:
    """The ``nix`` section."""

    @property
    def flake_file(self) -> Optional[str]:
        """Path of the app's own flake, relative to the app root."""

@final
class DeploymentSection:
    """The ``deployment`` section: strategy, health check and timings (seconds)."""

    @property
    def strategy(self) -> Literal["blue-green", "in-place"]:
        """How a new release replaces the live one."""
    @property
    def healthcheck_type(self) -> Literal["http", "tcp"]:
        """What the health check connects to."""
    @property
    def healthcheck_url(self) -> Optional[str]:
        """Health check URL, when given."""
    @property
    def healthcheck_path(self) -> Optional[str]:
        """Health check path, when given."""
    @property
    def health_path(self) -> str:
        """The path (with query) the HTTP health check requests."""
    @property
    def healthcheck_interval(self) -> float:
        """Seconds between checks while watching a live release."""
    @property
    def healthcheck_timeout(self) -> float:
        """Seconds one check may take."""
    @property
    def healthcheck_retries(self) -> int:
        """Consecutive failed checks that make a live release unhealthy."""
    @property
    def healthcheck_start_period(self) -> float:
        """Seconds a new release has to become healthy."""
    @property
    def watch_seconds(self) -> float:
        """Seconds after the switch during which a failure rolls back."""
    @property
    def drain_seconds(self) -> float:
        """Seconds open connections to the old release may take to finish."""
    @property
    def keep_generations(self) -> int:
        """Releases kept for rollback, the live one included."""
    @property
    def warm_standby(self) -> bool:
        """Whether the previous release keeps running for instant rollback."""

@final
class Resources:
    """The ``resources`` section."""

    @property
    def memory(self) -> Optional[str]:
        """Memory limit as written, e.g. ``"512M"``."""
    @property
    def memory_bytes(self) -> Optional[int]:
        """The memory limit in bytes."""
    @property
    def cpu(self) -> Optional[float]:
        """CPU limit in cores."""

@final
class Config:
    """A valid ``config.vpspilot.json``; every field is a read-only property."""

    @property
    def name(self) -> str:
        """Human-readable name of the app."""
    @property
    def type(
        self,
    ) -> Literal["laravel", "nodejs", "go", "python", "django", "static", "ruby", "custom"]:
        """The app type."""
    @property
    def runtime(self) -> Runtimes:
        """Requested runtime versions."""
    @property
    def build(self) -> BuildSection:
        """The build commands."""
    @property
    def start(self) -> CommandSection:
        """How the app starts (it must listen on ``$PORT``)."""
    @property
    def test(self) -> Optional[CommandSection]:
        """The test command, if any."""
    @property
    def env(self) -> Dict[str, str]:
        """The app's environment; values may hold ``{{NAME}}`` secret placeholders."""
    @property
    def nix(self) -> Optional[NixSection]:
        """Nix settings, if any."""
    @property
    def deployment(self) -> DeploymentSection:
        """Rollout strategy, health check and timings."""
    @property
    def resources(self) -> Resources:
        """Resource limits."""
    @property
    def port(self) -> Optional[int]:
        """The stable public port, when configured."""
    @property
    def secret_names(self) -> Set[str]:
        """Names of every secret the env values refer to."""
    def to_dict(self) -> Dict[str, Any]:
        """The config as plain Python data, defaults filled in."""
    def to_json(self) -> str:
        """The config as pretty-printed JSON text, defaults filled in."""

def load_config(path: _StrPath) -> Config:
    """Reads and validates a ``config.vpspilot.json`` (the file or its app directory).

    Raises :class:`pilot.ConfigError` with every problem, or with ``path``
    set and no problems when the file cannot be read.
    """

def validate_config(text: str) -> Config:
    """Validates the text of a ``config.vpspilot.json``.

    Raises :class:`pilot.ConfigError` whose ``problems`` list every problem.
    """

# --- nix ------------------------------------------------------------------

def render_flake(config: Config) -> Dict[str, str]:
    """The files of the Nix flake Pilot generates for ``config``, as ``{path: text}``.

    Raises :class:`pilot.NixError` for ``"custom"`` apps (they bring their own flake).
    """

def supported_versions() -> Dict[str, List[str]]:
    """The supported runtime series, ``{runtime: [series, ...]}`` oldest first."""

# --- metrics --------------------------------------------------------------

@final
class Series:
    """One series of the store: a metric on a node with a set of labels."""

    @property
    def id(self) -> int:
        """Numeric id in the store."""
    @property
    def node(self) -> str:
        """The node the samples come from."""
    @property
    def metric(self) -> str:
        """The metric name."""
    @property
    def labels(self) -> Dict[str, str]:
        """Labels besides the node."""

@final
class SeriesPoints:
    """The points of one series as ``(timestamp_ms, value)`` tuples."""

    @property
    def series(self) -> Series:
        """The series."""
    @property
    def resolution_ms(self) -> int:
        """0 for raw samples, else the bucket width the points were computed from."""
    @property
    def points(self) -> List[Tuple[int, float]]:
        """The points by time."""
    def __len__(self) -> int: ...

@final
class SeriesArrays:
    """The points of one series as numpy arrays."""

    @property
    def series(self) -> Series:
        """The series."""
    @property
    def resolution_ms(self) -> int:
        """0 for raw samples, else the bucket width the points were computed from."""
    @property
    def timestamps(self) -> numpy.ndarray:
        """int64 Unix milliseconds, by time."""
    @property
    def values(self) -> numpy.ndarray:
        """float64 values."""
    def __len__(self) -> int: ...

@final
class MetricsStore:
    """The timeseries store of a Pilot server (an SQLite file).

    ``MetricsStore(path)`` reads an existing store and never writes to it,
    not even a schema upgrade, so it can be read while the server writes it
    (a store of another Pilot version raises :class:`pilot.StoreError`);
    ``MetricsStore.create(path)`` opens or creates one that can be written.
    """

    def __new__(cls, path: _StrPath) -> MetricsStore:
        """Opens the existing store at ``path`` read-only (:class:`pilot.NotFoundError` if missing)."""
    @staticmethod
    def create(path: _StrPath) -> MetricsStore:
        """Opens or creates the store at ``path`` for reading and writing."""
    @property
    def path(self) -> pathlib.Path:
        """The store file."""
    @property
    def writable(self) -> bool:
        """Whether :meth:`write` is allowed."""
    def series(self, metric: Optional[str] = None, node: Optional[str] = None) -> List[Series]:
        """Every series, or those of ``metric`` and/or ``node``."""
    def write(self, node: str, samples: Iterable[_Sample]) -> int:
        """Adds samples of ``node``; returns how many. Only for :meth:`create` stores."""
    def query(
        self,
        metric: str,
        node: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
        start: Optional[_Time] = None,
        end: Optional[_Time] = None,
        step: Optional[_Duration] = None,
        agg: _Aggregation = "avg",
    ) -> List[SeriesPoints]:
        """Points of the selected series in ``[start, end)``: raw, or one per ``step`` by ``agg``."""
    def query_numpy(
        self,
        metric: str,
        node: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
        start: Optional[_Time] = None,
        end: Optional[_Time] = None,
        step: Optional[_Duration] = None,
        agg: _Aggregation = "avg",
    ) -> List[SeriesArrays]:
        """Like :meth:`query`, as numpy arrays built without a Python loop (needs numpy)."""
    def close(self) -> None:
        """Closes the store."""
    def __enter__(self) -> MetricsStore: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

# --- local deploys --------------------------------------------------------

@final
class Step:
    """One step of a deployment and what happened to it."""

    @property
    def step(self) -> str:
        """``"fetch"``, ``"configure"``, ``"build"``, ``"test"``, ``"start"``,
        ``"health_check"``, ``"switch"``, ``"watch"`` or ``"retire"``."""
    @property
    def status(self) -> str:
        """``"pending"``, ``"running"``, ``"done"``, ``"failed"``, ``"reverted"`` or ``"revert_failed"``."""
    @property
    def started_ms(self) -> Optional[int]:
        """Unix ms when it started."""
    @property
    def finished_ms(self) -> Optional[int]:
        """Unix ms when it ended."""
    @property
    def error(self) -> Optional[str]:
        """Its error, secrets masked."""

@final
class Deployment:
    """The record of one deployment or rollback."""

    @property
    def id(self) -> str:
        """Unique, time-sortable id."""
    @property
    def project(self) -> str:
        """The project."""
    @property
    def kind(self) -> Literal["deploy", "rollback"]:
        """Deploy or rollback."""
    @property
    def generation(self) -> int:
        """The generation rolled out."""
    @property
    def state(self) -> str:
        """``"succeeded"``, ``"failed"`` or ``"rolled_back"`` once ended."""
    @property
    def succeeded(self) -> bool:
        """Whether it succeeded."""
    @property
    def version(self) -> Optional[str]:
        """Version label of the release."""
    @property
    def commit(self) -> Optional[str]:
        """Full git commit, for git sources."""
    @property
    def port(self) -> Optional[int]:
        """Port the release listens on."""
    @property
    def public_port(self) -> Optional[int]:
        """The project's public port."""
    @property
    def url(self) -> Optional[str]:
        """``http://<address>:<public_port>/``."""
    @property
    def reason(self) -> Optional[str]:
        """Why it did not succeed (secrets masked)."""
    @property
    def created_ms(self) -> int:
        """Unix ms when it was created."""
    @property
    def finished_ms(self) -> Optional[int]:
        """Unix ms when it ended."""
    @property
    def duration_ms(self) -> Optional[int]:
        """Milliseconds from creation to the end."""
    @property
    def steps(self) -> List[Step]:
        """Every step of its plan."""

@final
class Generation:
    """A kept release of a project."""

    @property
    def number(self) -> int:
        """Generation number."""
    @property
    def version(self) -> str:
        """Version label."""
    @property
    def commit(self) -> Optional[str]:
        """Full git commit, for git sources."""
    @property
    def deployment(self) -> str:
        """The deployment that built it."""
    @property
    def created_ms(self) -> int:
        """Unix ms when it was built."""

@final
class ProjectStatus:
    """Where a project stands on this machine."""

    @property
    def project(self) -> str:
        """The project."""
    @property
    def public_port(self) -> Optional[int]:
        """The stable public port."""
    @property
    def url(self) -> Optional[str]:
        """The public URL."""
    @property
    def live(self) -> Optional[int]:
        """The generation receiving traffic."""
    @property
    def live_port(self) -> Optional[int]:
        """The port the live release listens on."""
    @property
    def standby(self) -> Optional[int]:
        """The previous generation, kept running without traffic."""
    @property
    def generations(self) -> List[Generation]:
        """Kept generations, oldest first."""
    @property
    def service_state(self) -> Optional[Literal["running", "stopped", "backing-off", "exited"]]:
        """State of the live release's service."""
    @property
    def running(self) -> bool:
        """Whether the live release's process runs."""
    @property
    def pid(self) -> Optional[int]:
        """Pid of the live release's main process."""
    @property
    def restarts(self) -> int:
        """Restarts of the live release after it exited."""

@final
class Deployer:
    """Deploys apps on this machine, in this process, with zero downtime."""

    def __new__(
        cls,
        data_dir: _StrPath,
        *,
        public_ip: str = "127.0.0.1",
        runtime: Literal["host", "nix", "auto"] = "host",
        nix_offline: bool = False,
        nix_overrides: Optional[Dict[str, str]] = None,
        nix_config: Optional[List[str]] = None,
    ) -> Deployer:
        """Opens the deployer of ``data_dir`` and recovers what a previous one left."""
    @property
    def data_dir(self) -> pathlib.Path:
        """The data directory."""
    @property
    def runtime(self) -> str:
        """``"host"`` or ``"nix"``."""
    @property
    def recovery(self) -> Dict[str, List[str]]:
        """What opening recovered: ``reverted``, ``completed``, ``restarted``, ``orphans_removed``, ``problems``."""
    def deploy(
        self,
        app: _StrPath,
        project: Optional[str] = None,
        *,
        progress: Optional[Callable[[Dict[str, Any]], object]] = None,
        config: Optional[Config] = None,
        secrets: Optional[Dict[str, str]] = None,
        check: bool = True,
    ) -> Deployment:
        """Deploys an app directory or archive as a new generation of ``project``."""
    def rollback(
        self,
        project: str,
        generation: Optional[int] = None,
        *,
        progress: Optional[Callable[[Dict[str, Any]], object]] = None,
        check: bool = True,
    ) -> Deployment:
        """Rolls back to a kept generation (default: the one before the live one)."""
    def status(self, project: str) -> ProjectStatus:
        """Where ``project`` stands."""
    def deployments(self, project: str) -> List[Deployment]:
        """Every deployment of ``project``, oldest first."""
    def projects(self) -> List[str]:
        """The projects deployed in this data directory."""
    def url(self, project: str) -> str:
        """The public URL of ``project``."""
    def logs(self, project: str, lines: int = 100) -> List[str]:
        """The last ``lines`` output lines of the live release."""
    def stop(self, project: str) -> None:
        """Stops the live release."""
    def start(self, project: str) -> None:
        """Starts the live release again."""
    def restart(self, project: str) -> None:
        """Stops and starts the live release."""
    def close(self) -> None:
        """Stops every app and closes every public port."""
    def __enter__(self) -> Deployer: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

# --- servers --------------------------------------------------------------

_Progress = Callable[[Dict[str, Any]], object]
"""Called with each event dict of a rollout (``{"type": "deploy", "node", "rollout", "event": {...}}``, then ``{"type": "rollout_finished", ...}``)."""
_Json = Any
"""The API's JSON answer as dicts and lists."""

@final
class Session:
    """A logged-in session of a Pilot server."""

    @property
    def token(self) -> str:
        """The session token; keep it private."""
    @property
    def expires_at_ms(self) -> int:
        """Unix ms when the token expires."""
    @property
    def username(self) -> str:
        """The user it belongs to."""
    @property
    def role(self) -> Literal["admin", "viewer"]:
        """The user's role."""

@final
class RolloutNode:
    """One node's part of a rollout."""

    @property
    def node(self) -> str:
        """The node."""
    @property
    def state(self) -> Literal["pending", "running", "succeeded", "failed", "rolled_back", "skipped"]:
        """Where it stands."""
    @property
    def deployment(self) -> Optional[str]:
        """The deployment's id on the node, once known."""
    @property
    def generation(self) -> Optional[int]:
        """The generation serving there, once known."""
    @property
    def error(self) -> Optional[str]:
        """Why it failed, if it did."""

@final
class Rollout:
    """A deploy or rollback of a project across its nodes."""

    @property
    def id(self) -> str:
        """The rollout's id."""
    @property
    def project(self) -> str:
        """The project."""
    @property
    def kind(self) -> Literal["deploy", "rollback"]:
        """Deploy or rollback."""
    @property
    def status(self) -> Literal["running", "succeeded", "failed"]:
        """Overall status."""
    @property
    def succeeded(self) -> bool:
        """Whether every node ended serving the new release."""
    @property
    def reason(self) -> Optional[str]:
        """Why it failed, if it did (secrets masked)."""
    @property
    def nodes(self) -> List[RolloutNode]:
        """Every node, canaries first."""
    @property
    def canary(self) -> List[str]:
        """The canary nodes, if any."""
    @property
    def requested_by(self) -> str:
        """Who asked for it."""
    @property
    def started_ms(self) -> int:
        """Unix ms of the start."""
    @property
    def finished_ms(self) -> Optional[int]:
        """Unix ms of the end, once it ended."""

@final
class Client:
    """A client of a Pilot server's API; answers are the API's JSON as dicts and lists."""

    def __new__(cls, url: str, token: Optional[str] = None) -> Client:
        """A client of the server at ``url``, sending ``token`` when given."""
    @property
    def url(self) -> str:
        """The server's base URL."""
    @property
    def token(self) -> Optional[str]:
        """The session token sent with every call, if any."""
    def login(self, user: str, password: str) -> Session:
        """Logs in and keeps the token (:class:`pilot.AuthError` when refused)."""
    def health(self) -> Dict[str, Any]:
        """Whether the server answers and reaches its database."""
    def nodes(self) -> List[Dict[str, Any]]:
        """Every registered node (``name``, ``online``, ``connection``, ``system_info``...)."""
    def add_node(self, name: str) -> Dict[str, Any]:
        """Registers a node: ``node``, ``token`` (shown once) and ``agent_command``."""
    def remove_node(self, name: str) -> None:
        """Revokes a node."""
    def projects(self) -> List[Dict[str, Any]]:
        """Every project (``name``, ``status``, ``nodes``, ``public_port``...)."""
    def project(self, name: str) -> Dict[str, Any]:
        """One project with its ``config``, ``online_nodes``, ``deployments`` and ``rollouts``."""
    def create_project(
        self,
        name: str,
        *,
        git: Optional[str] = None,
        branch: Optional[str] = None,
        directory: Optional[_StrPath] = None,
        nodes: List[str],
        port: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Creates a project from a git repository or an app directory."""
    def update_config(self, project: str, config: str) -> Dict[str, Any]:
        """Replaces and pins the project's config with the text of a ``config.vpspilot.json``."""
    def remove_project(self, project: str) -> Dict[str, Any]:
        """Stops and deletes the project on every node, with its secrets."""
    def deploy(
        self,
        project: str,
        *,
        ref: Optional[str] = None,
        directory: Optional[_StrPath] = None,
        canary: Optional[List[str]] = None,
        canary_watch_secs: int = 60,
        wait: bool = True,
        progress: Optional[_Progress] = None,
    ) -> Rollout:
        """Deploys a git revision or an app directory; waits for the end unless ``wait=False``."""
    def rollback(
        self,
        project: str,
        generation: Optional[int] = None,
        *,
        wait: bool = True,
        progress: Optional[_Progress] = None,
    ) -> Rollout:
        """Rolls back to a kept generation (default: the previous one)."""
    def wait_rollout(self, id: str, *, progress: Optional[_Progress] = None) -> Rollout:
        """Waits for a rollout to end."""
    def deployments(self, project: str, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """The project's deployments on every node, newest first (``node``, ``deployment``)."""
    def start(self, project: str) -> List[Dict[str, Any]]:
        """Starts the current release on every node; ``{"node", "ok", "error"}`` per node."""
    def stop(self, project: str) -> List[Dict[str, Any]]:
        """Stops the project on every node."""
    def restart(self, project: str) -> List[Dict[str, Any]]:
        """Restarts the project on every node."""
    def logs(self, project: str, lines: int = 100) -> Dict[str, Any]:
        """The last lines of every node: ``{"project", "nodes": [{"node", "lines", "error"}]}``."""
    def set_env(self, project: str, key: str, value: str, node: Optional[str] = None) -> None:
        """Sets a secret (or its override on ``node``); values are never returned."""
    def env(self, project: str) -> Dict[str, Any]:
        """Secret names only: ``{"project": [...], "nodes": {...}, "missing": [...]}``."""
    def unset_env(self, project: str, key: str, node: Optional[str] = None) -> None:
        """Deletes a secret (or its override on ``node``)."""
    def metrics(
        self,
        metric: str,
        node: Optional[str] = None,
        start: Union[_Time, str, None] = None,
        end: Union[_Time, str, None] = None,
        step: Union[_Duration, str, None] = None,
        agg: _Aggregation = "avg",
        labels: Optional[Dict[str, str]] = None,
    ) -> Dict[str, Any]:
        """Stored values of a metric: ``{"metric", "start_ms", "end_ms", "step_ms", "aggregation", "series"}``."""
    def latest_metrics(self, node: str) -> List[Dict[str, Any]]:
        """The newest value of every series of a node (``name``, ``labels``, ``timestamp_ms``, ``value``)."""

@final
class Server:
    """A Pilot server (and by default a local agent, node ``local``) running in this process."""

    def __new__(
        cls,
        data_dir: _StrPath,
        *,
        listen: str = "127.0.0.1:0",
        agent_listen: str = "127.0.0.1:0",
        admin_password: Optional[str] = None,
        local_agent: bool = True,
        runtime: Literal["host", "nix", "auto"] = "host",
    ) -> Server:
        """Starts the server, and the local agent once it is online."""
    @property
    def url(self) -> str:
        """The API's base URL."""
    @property
    def admin_password(self) -> Optional[str]:
        """The ``admin`` password given or generated by this start, else ``None``."""
    @property
    def data_dir(self) -> pathlib.Path:
        """The data directory."""
    def client(self) -> Client:
        """A client logged in as ``admin``."""
    def close(self) -> None:
        """Stops the local node's apps, the agent and the server."""
    def __enter__(self) -> Server: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
