"""The `Cairn` client and the objects it returns (experiments, jobs, models, deployments, approvals)."""
from __future__ import annotations

import datetime as _dt
import html
import importlib
import sys
import time
from collections import deque
from typing import IO, Any, Deque, Tuple, Dict, Iterator, List, Mapping, Optional, Sequence, Union
from urllib.parse import quote

import httpx

from . import archive as _archive
from ._http import RETRY_STATUSES, Transport, raise_for
from .config import resolve
from .errors import CairnError, JobFailed, JobTimeout

FINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled")
INTERPRETERS = {".py": ["python3"], ".mjs": ["node"], ".js": ["node"], ".sh": ["sh"], ".R": ["Rscript"]}

Seconds = Union[int, float, _dt.timedelta]


def _seconds(value: Optional[Seconds]) -> Optional[float]:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, _dt.timedelta) else float(value)


def _pandas() -> Any:
    """pandas when it is installed (an optional dependency), else None."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        return None


def _seg(value: Any) -> str:
    return quote(str(value), safe="")


class Resource:
    """An API object: its fields as attributes and in ``.data``."""

    _id_field = "id"

    def __init__(self, client: "Cairn", data: Dict[str, Any]) -> None:
        self._client = client
        self.data: Dict[str, Any] = dict(data)

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    @property
    def id(self) -> str:
        return str(self.data.get(self._id_field))

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"

    def _html_table(self, title: str, rows: Sequence[Tuple[str, Any]]) -> str:
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows)
        return f"<div><strong>{html.escape(title)}</strong><table>{cells}</table></div>"


# ---------------------------------------------------------------------------------------------------- jobs

class Job(Resource):
    """A training job. ``wait()`` streams its log until it ends and raises :class:`JobFailed` on failure."""

    _id_field = "job_id"

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    @property
    def run_id(self) -> Optional[str]:
        return self.data.get("run_id")

    @property
    def url(self) -> str:
        return f"{self._client.url}/jobs/{self.id}"

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.status}>"

    def _repr_html_(self) -> str:
        cost = self.data.get("cost_so_far")
        return self._html_table(f"Cairn job {self.data.get('name') or self.id}", [
            ("status", html.escape(self.status)),
            ("cost so far", "—" if cost is None else f"${cost:,.4f}"),
            ("run", html.escape(str(self.run_id))),
            ("resources", html.escape(str(self.data.get("resources", {}).get("instance_type") or self.data.get("resources")))),
            ("link", f"<a href='{html.escape(self.url)}' target='_blank'>{html.escape(self.url)}</a>"),
        ])

    @property
    def done(self) -> bool:
        return self.status in FINAL_JOB_STATUSES

    def refresh(self) -> "Job":
        self.data = self._client._t.get(f"/api/v1/jobs/{_seg(self.id)}")
        return self

    def cancel(self) -> "Job":
        self.data = self._client._t.post(f"/api/v1/jobs/{_seg(self.id)}/cancel")
        return self

    def retry(self) -> "Job":
        """Run the finished job again with the same spec; returns the new job."""
        data = self._client._t.post(f"/api/v1/jobs/{_seg(self.id)}/retry")
        if "command" in data:  # the full job
            return Job(self._client, data)
        return self._client.jobs.get(data["job_id"])

    def register_model(self, name: str, path: str = "model", *, description: Optional[str] = None) -> Dict[str, Any]:
        """Register the artifact folder ``path`` of this job's run as a new version of model ``name``."""
        if not self.run_id:
            raise CairnError(f"Job {self.id} has no run to register a model from.")
        return self._client.models.register(name, self.run_id, path, description=description)

    def logs(self) -> str:
        """The log so far, as text."""
        text = self._client._t.get(f"/api/v1/jobs/{_seg(self.id)}/logs")
        return text if isinstance(text, str) else str(text or "")

    def stream_logs(self, timeout: Optional[Seconds] = None, *, read_timeout: float = 15.0) -> Iterator[str]:
        """Yield the log line by line as it is written, until the job ends (SSE ``event: end``).

        A dropped connection (or a quiet one: every ``read_timeout`` seconds) reconnects with
        ``Last-Event-ID``, so each line arrives exactly once. Raises :class:`JobTimeout` after ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + (_seconds(timeout) or 0)
        last_id: Optional[str] = None
        failures = 0
        t = self._client._t
        self.reconnects = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise JobTimeout(f"Job {self.id} still {self.refresh().status} after {_seconds(timeout):g}s")
            headers = {"Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            read = read_timeout if remaining is None else max(0.5, min(read_timeout, remaining))
            try:
                with t.http.stream("GET", f"/api/v1/jobs/{_seg(self.id)}/logs", params={"follow": "true"}, headers=headers,
                                   timeout=httpx.Timeout(10.0, read=read)) as response:
                    if response.status_code in RETRY_STATUSES and failures < t.max_retries:
                        time.sleep(t.delay(failures, response))
                        failures += 1
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise_for(response)
                    event, data, event_id = "message", [], None  # type: str, List[str], Optional[str]
                    for line in response.iter_lines():
                        if deadline is not None and time.monotonic() > deadline:
                            raise JobTimeout(f"Job {self.id} still {self.refresh().status} after {_seconds(timeout):g}s")
                        if line == "":
                            if event == "end":
                                return
                            if event == "message" and data:
                                for d in data:
                                    yield d
                            if event_id is not None:
                                last_id = event_id
                            failures = 0
                            event, data, event_id = "message", [], None
                        elif line.startswith(":"):
                            continue
                        else:
                            field, _, value = line.partition(":")
                            value = value[1:] if value.startswith(" ") else value
                            if field == "data":
                                data.append(value)
                            elif field == "id":
                                event_id = value
                            elif field == "event":
                                event = value
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                pass
            # The stream ended without `event: end` (dropped, or quiet for read_timeout): resume where it stopped.
            self.reconnects += 1
            if self.refresh().done and failures >= 2:
                return  # finished, and two reconnects brought no `end`: nothing more will come
            failures += 1 if failures < 10 else 0
            time.sleep(min(0.2 * failures, 2.0))

    def wait(self, timeout: Optional[Seconds] = None, *, log: Union[bool, IO[str]] = True) -> "Job":
        """Stream the live log (to stdout, or the file ``log`` names; ``log=False`` keeps quiet) until the job ends.

        Returns the job when it succeeded; raises :class:`JobFailed` carrying the job's message when it failed
        or was cancelled, :class:`JobTimeout` when ``timeout`` seconds pass first.
        """
        out: Optional[IO[str]] = (sys.stdout if log is True else None) if isinstance(log, bool) else log
        tail: Deque[str] = deque(maxlen=20)
        for line in self.stream_logs(timeout=timeout):
            if not line.startswith("=== "):
                tail.append(line)
            if out is not None:
                out.write(line + "\n")
                out.flush()
        self.refresh()
        deadline = None if timeout is None else time.monotonic() + 5
        while not self.done and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.5)
            self.refresh()
        if self.status in ("failed", "cancelled"):
            reason: str = str(self.data.get("message") or (f"exit code {self.data.get('exit_code')}" if self.data.get("exit_code") is not None else self.status))
            # The cause Cairn read from the log when the job failed (the exception, an out-of-memory kill, a timeout…).
            failure = self.data.get("failure") if self.status == "failed" else None
            if isinstance(failure, dict) and failure.get("summary"):
                at = failure.get("line")
                reason = str(failure["summary"]) + (f" (line {at} of the log)" if at else "")
            raise JobFailed(self, str(reason), log_tail=[t for t in tail if t.strip()][-10:], failure=failure if isinstance(failure, dict) else None)
        return self


class JobsAPI:
    def __init__(self, client: "Cairn") -> None:
        self._client = client

    def get(self, job_id: str) -> Job:
        return Job(self._client, self._client._t.get(f"/api/v1/jobs/{_seg(job_id)}"))

    def list(self, *, team: Optional[str] = None, status: Optional[str] = None, limit: Optional[int] = None) -> Iterator[Job]:
        """Every job of the caller's teams (newest first), page after page."""
        for item in self._client._t.paged("/api/v1/jobs", "jobs", {"team": team, "status": status, "limit": limit}):
            yield Job(self._client, item)


# ---------------------------------------------------------------------------------------------------- sweeps

FINAL_SWEEP_STATES = ("finished", "stopped", "failed")


def _space(space: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> List[Dict[str, Any]]:
    """The API's list of params, from that list or from ``{name: spec}`` where a spec is a dict (``{"type": "int",
    "low": 1, "high": 9}``), a list (categorical values) or a single value (fixed)."""
    if not isinstance(space, Mapping):
        return [dict(p) for p in space]
    params: List[Dict[str, Any]] = []
    for name, spec in space.items():
        if isinstance(spec, Mapping):
            params.append({"name": name, **spec})
        elif isinstance(spec, (list, tuple)):
            params.append({"name": name, "type": "categorical", "values": list(spec)})
        else:
            params.append({"name": name, "type": "fixed", "value": spec})
    return params


class Sweep(Resource):
    """A hyperparameter sweep: its trials run as jobs under the team's quota; ``wait()`` polls until it ends."""

    _id_field = "sweep_id"

    @property
    def state(self) -> str:
        return str(self.data.get("state"))

    @property
    def trials(self) -> List[Dict[str, Any]]:
        return list(self.data.get("trials") or [])

    @property
    def best_trial(self) -> Optional[Dict[str, Any]]:
        return self.data.get("best_trial")

    @property
    def url(self) -> str:
        return f"{self._client.url}/sweeps/{self.id}"

    @property
    def done(self) -> bool:
        return self.state in FINAL_SWEEP_STATES

    def __repr__(self) -> str:
        counts = self.data.get("counts") or {}
        return f"<Sweep {self.id} {self.state} {counts.get('succeeded', 0)}/{self.data.get('max_trials')} trials>"

    def refresh(self) -> "Sweep":
        self.data = self._client._t.get(f"/api/v1/sweeps/{_seg(self.id)}")
        return self

    def pause(self) -> "Sweep":
        self.data = self._client._t.post(f"/api/v1/sweeps/{_seg(self.id)}/pause")
        return self

    def resume(self) -> "Sweep":
        self.data = self._client._t.post(f"/api/v1/sweeps/{_seg(self.id)}/resume")
        return self

    def stop(self) -> "Sweep":
        """Cancel the waiting and running trials; the sweep ends as stopped."""
        self.data = self._client._t.post(f"/api/v1/sweeps/{_seg(self.id)}/stop")
        return self

    def register_best(self, name: str, path: str = "model") -> Dict[str, Any]:
        """Register the best trial's ``path`` folder as a new version of model ``name``: ``{trial, version}``."""
        return dict(self._client._t.post(f"/api/v1/sweeps/{_seg(self.id)}/register-best", json={"name": name, "path": path}))

    def wait(self, timeout: Optional[Seconds] = None, *, poll: float = 5.0) -> "Sweep":
        """Poll until the sweep has ended (finished, stopped or failed); raises :class:`JobTimeout` after ``timeout``."""
        limit = _seconds(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        self.refresh()
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeout(f"Sweep {self.id} is still {self.state} after {limit:g} s")
            time.sleep(poll)
            self.refresh()
        return self


class SweepsAPI:
    def __init__(self, client: "Cairn") -> None:
        self._client = client

    def get(self, sweep_id: str) -> Sweep:
        return Sweep(self._client, self._client._t.get(f"/api/v1/sweeps/{_seg(sweep_id)}"))

    def list(self, experiment_id: Union[str, int]) -> List[Dict[str, Any]]:
        """The experiment's sweeps (summaries, newest first)."""
        return list(self._client._t.get(f"/api/v1/experiments/{_seg(str(experiment_id))}/sweeps").get("sweeps") or [])


# ---------------------------------------------------------------------------------------------------- experiments

class Experiment(Resource):
    _id_field = "experiment_id"

    @property
    def name(self) -> str:
        return str(self.data.get("name"))

    @property
    def team(self) -> str:
        return str(self.data.get("team"))

    def __repr__(self) -> str:
        return f"<Experiment {self.id} {self.name!r} team={self.team}>"

    def _repr_html_(self) -> str:
        return self._html_table(f"Cairn experiment {self.name}", [("id", self.id), ("team", html.escape(self.team)),
                                                                  ("runs", self.data.get("run_count", "—"))])

    def refresh(self) -> "Experiment":
        self.data = self._client._t.get(f"/api/v1/experiments/{_seg(self.id)}")
        return self

    def train(
        self,
        script: Optional[str] = None,
        *,
        requirements: Optional[str] = None,
        path: Union[str, "Any"] = ".",
        args: Sequence[str] = (),
        command: Optional[Sequence[str]] = None,
        source: Optional[str] = None,
        instance_type: Optional[str] = None,
        gpus: Optional[int] = None,
        num_gpus: Optional[int] = None,
        resources: Optional[Mapping[str, Any]] = None,
        env: Optional[Mapping[str, str]] = None,
        max_runtime: Optional[Seconds] = None,
        priority: Optional[str] = None,
        retries: Optional[int] = None,
        image: Optional[str] = None,
        name: Optional[str] = None,
    ) -> Job:
        """Pack ``path`` (default: the current folder, minus what .gitignore excludes), upload it, and launch
        ``script`` on it. ``requirements`` names a pip requirements file in that folder, installed before the
        script runs. ``source="examples/churn"`` runs a built-in example instead of local code.
        """
        if source is None:
            source = self._client.upload_code(path, team=self.team)["id"]
        if command is None and script is not None:
            suffix = "." + script.rsplit(".", 1)[-1] if "." in script else ""
            command = [*INTERPRETERS.get(suffix, []), script, *args] if suffix in INTERPRETERS else [f"./{script}" if "/" not in script else script, *args]
        if requirements is not None:
            if command is None:
                raise CairnError("requirements= needs script= or command= to know what to run after installing them")
            # Into the job's own folder (no root, and no clash with a system Python's PEP 668 marker), then on PYTHONPATH.
            command = ["sh", "-c", 'python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location '
                       '--target .cairn-packages -r "$0" && PYTHONPATH="$PWD/.cairn-packages${PYTHONPATH:+:$PYTHONPATH}" exec "$@"',
                       requirements, *command]
        body: Dict[str, Any] = {"source": source}
        gpus = gpus if gpus is not None else num_gpus
        for key, value in (("command", list(command) if command else None), ("instance_type", instance_type), ("gpus", gpus),
                           ("resources", dict(resources) if resources else None), ("env", dict(env) if env else None),
                           ("priority", priority), ("retries", retries), ("image", image), ("name", name)):
            if value is not None:
                body[key] = value
        if max_runtime is not None:
            body["max_runtime_seconds"] = int(_seconds(max_runtime) or 0)
        started = self._client._t.post(f"/api/v1/experiments/{_seg(self.id)}/train", json=body)
        return self._client.jobs.get(started["job_id"])

    def sweep(
        self,
        space: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]],
        *,
        objective: str,
        direction: str = "minimize",
        algorithm: str = "random",
        max_trials: Optional[int] = None,
        parallelism: Optional[int] = None,
        early_stopping: Optional[Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        grid_points: Optional[int] = None,
        name: Optional[str] = None,
        source: Optional[str] = None,
        command: Optional[Sequence[str]] = None,
        instance_type: Optional[str] = None,
        resources: Optional[Mapping[str, Any]] = None,
        env: Optional[Mapping[str, str]] = None,
        retries: Optional[int] = None,
        max_runtime: Optional[Seconds] = None,
        priority: Optional[str] = None,
    ) -> Sweep:
        """Start a hyperparameter sweep over the job ``source``/``command`` (each trial gets ``--<param>=<value>``).

        ``space``: ``{"lr": {"type": "log_uniform", "low": 1e-3, "high": 0.5}, "batch-size": [32, 64], "epochs": 30}``
        (a list is categorical, a single value fixed). ``algorithm``: ``random``, ``grid`` or ``bayesian`` (Optuna TPE
        on the server). ``early_stopping={"type": "median", "min_trials": 3, "min_steps": 5}`` stops trials worse than
        the median of the finished ones.
        """
        template: Dict[str, Any] = {}
        for key, value in (("source", source), ("command", list(command) if command else None), ("instance_type", instance_type),
                           ("resources", dict(resources) if resources else None), ("env", dict(env) if env else None),
                           ("retries", retries), ("priority", priority)):
            if value is not None:
                template[key] = value
        if max_runtime is not None:
            template["max_runtime_seconds"] = int(_seconds(max_runtime) or 0)
        body: Dict[str, Any] = {"space": _space(space), "objective": {"metric": objective, "direction": direction}, "algorithm": algorithm, "template": template}
        for key, value in (("max_trials", max_trials), ("parallelism", parallelism), ("seed", seed), ("grid_points", grid_points),
                           ("name", name), ("early_stopping", dict(early_stopping) if early_stopping else None)):
            if value is not None:
                body[key] = value
        return Sweep(self._client, self._client._t.post(f"/api/v1/experiments/{_seg(self.id)}/sweeps", json=body))

    def runs(self, filter: Optional[str] = None, *, order_by: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """The experiment's runs as flat rows (params, latest metrics, tags), filtered with the search grammar
        (e.g. ``"metrics.auc > 0.8 and params.lr = '0.1'"``), page after page."""
        yield from self._client._t.paged(f"/api/v1/experiments/{_seg(self.id)}/runs", "runs",
                                         {"filter": filter, "order_by": order_by, "page_size": page_size})

    def jobs(self) -> Iterator[Job]:
        return (j for j in self._client.jobs.list(team=self.team) if str(j.data.get("experiment_id")) == self.id)

    def deploy_latest(self, model: Optional[str] = None, **deploy: Any) -> Union["Deployment", "ApprovalRequest"]:
        """Deploy the newest registered model version that one of this experiment's runs produced."""
        run_experiment: Dict[str, Optional[str]] = {}
        candidates: List[Tuple[str, int, str]] = []
        names = [model] if model else [m.name for m in self._client.models.list(team=self.team)]
        for name in names:
            detail = self._client.models.get(name, team=self.team)
            for v in detail.versions:
                rid = v.get("run_id")
                if not rid:
                    continue
                if rid not in run_experiment:
                    try:
                        run = self._client.run(rid)
                        run_experiment[rid] = str((run.get("info") or run).get("experiment_id"))
                    except CairnError:
                        run_experiment[rid] = None
                if run_experiment[rid] == self.id:
                    candidates.append((str(v.get("created_at") or ""), int(v["version"]), name))
        if not candidates:
            raise CairnError(f"No registered model version comes from a run of experiment {self.name!r}; register one first.")
        _, version, name = max(candidates)
        deploy.setdefault("team", self.team)
        return self._client.deploy(name, version=version, **deploy)


class ExperimentsAPI:
    def __init__(self, client: "Cairn") -> None:
        self._client = client

    def create(self, name: str, *, description: Optional[str] = None, team: Optional[str] = None) -> Experiment:
        body: Dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        if team is not None:
            body["team"] = team
        created = self._client._t.post("/api/v1/experiments", json=body)
        return self.get(created["experiment_id"])

    def get(self, experiment_id: Union[str, int]) -> Experiment:
        return Experiment(self._client, self._client._t.get(f"/api/v1/experiments/{_seg(experiment_id)}"))

    def list(self, *, team: Optional[str] = None, q: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[Experiment]:
        for item in self._client._t.paged("/api/v1/experiments", "experiments", {"team": team, "q": q, "max_results": page_size}):
            yield Experiment(self._client, item)

    def get_or_create(self, name: str, *, team: Optional[str] = None, description: Optional[str] = None) -> Experiment:
        for e in self.list(team=team, q=name):
            if e.name == name:
                return e
        return self.create(name, team=team, description=description)


# ---------------------------------------------------------------------------------------------------- models

class Model(Resource):
    _id_field = "name"

    @property
    def name(self) -> str:
        return str(self.data.get("name"))

    @property
    def versions(self) -> List[Dict[str, Any]]:
        if "versions" not in self.data:
            self.refresh()
        return list(self.data.get("versions") or [])

    @property
    def aliases(self) -> Dict[str, int]:
        return dict(self.data.get("aliases") or {})

    def __repr__(self) -> str:
        return f"<Model {self.name!r} team={self.data.get('team')} latest={self.data.get('latest_version')}>"

    def refresh(self) -> "Model":
        self.data = self._client._t.get(f"/api/v1/models/{_seg(self.name)}", params={"team": self.data.get("team")})
        return self

    def set_alias(self, alias: str, version: Union[int, str]) -> "Model":
        """Point ``alias`` at ``version`` (the MLflow registry endpoint; the v1 API has none)."""
        self._client._t.post("/api/2.0/mlflow/registered-models/alias", json={"name": self.name, "alias": alias, "version": str(version)})
        return self.refresh()

    def delete_alias(self, alias: str) -> "Model":
        self._client._t.request("DELETE", "/api/2.0/mlflow/registered-models/alias", params={"name": self.name, "alias": alias})
        return self.refresh()

    def deploy(self, **kw: Any) -> Union["Deployment", "ApprovalRequest"]:
        kw.setdefault("team", self.data.get("team"))
        return self._client.deploy(self.name, **kw)


class ModelsAPI:
    def __init__(self, client: "Cairn") -> None:
        self._client = client

    def list(self, *, team: Optional[str] = None, q: Optional[str] = None) -> List[Model]:
        return [Model(self._client, m) for m in self._client._t.get("/api/v1/models", params={"team": team, "q": q})["models"]]

    def get(self, name: str, *, team: Optional[str] = None) -> Model:
        return Model(self._client, self._client._t.get(f"/api/v1/models/{_seg(name)}", params={"team": team}))

    def register(self, name: str, run_id: str, path: str = "model", *, description: Optional[str] = None) -> Dict[str, Any]:
        """Register the run's artifact folder ``path`` (``runs:/<run_id>/<path>``) as a new version of model
        ``name`` in the run's team, creating the model when the team has none of that name. Returns the version
        (``name``, ``version``, ``team``, ``source``, ``run_id``, ``status``, ``format``, ``content_digest``).
        A refusal (another team's run, a path with no files) writes nothing."""
        body: Dict[str, Any] = {"name": name, "path": path}
        if description:
            body["description"] = description
        return dict(self._client._t.post(f"/api/v1/runs/{_seg(run_id)}/register", json=body))


# ---------------------------------------------------------------------------------------------------- deployments

def _inference_body(data: Any) -> Any:
    pd = _pandas()
    if pd is not None and isinstance(data, pd.DataFrame):
        return {"dataframe_split": {"columns": [str(c) for c in data.columns], "data": data.to_numpy().tolist()}}
    if hasattr(data, "tolist") and not isinstance(data, (list, dict)):
        return {"inputs": data.tolist()}
    if isinstance(data, dict) and set(data) & {"inputs", "instances", "dataframe_split", "dataframe_records"}:
        return data
    return {"inputs": data}


class Deployment(Resource):
    _id_field = "deployment_id"

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    @property
    def endpoint(self) -> str:
        return f"{self._client.url}{self.data.get('endpoint')}"

    @property
    def stable_endpoint(self) -> str:
        return f"{self._client.url}{self.data.get('stable_endpoint') or self.data.get('endpoint')}"

    def __repr__(self) -> str:
        return f"<Deployment {self.id} {self.data.get('model')} v{self.data.get('version')} {self.data.get('environment')} {self.status}>"

    def _repr_html_(self) -> str:
        return self._html_table(f"Cairn deployment of {self.data.get('model')} v{self.data.get('version')}", [
            ("environment", html.escape(str(self.data.get("environment")))), ("status", html.escape(self.status)),
            ("replicas", self.data.get("replicas")), ("stable endpoint", html.escape(self.stable_endpoint)),
            ("link", f"<a href='{self._client.url}/deployments/{self.id}' target='_blank'>portal</a>")])

    def refresh(self) -> "Deployment":
        self.data = self._client._t.get(f"/api/v1/deployments/{_seg(self.id)}")
        return self

    def wait_ready(self, timeout: Seconds = 120) -> "Deployment":
        deadline = time.monotonic() + (_seconds(timeout) or 0)
        while self.refresh().status not in ("ready", "failed", "stopped"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Deployment {self.id} still {self.status} after {_seconds(timeout):g}s")
            time.sleep(1)
        if self.status != "ready":
            raise CairnError(f"Deployment {self.id} is {self.status}: {self.data.get('message')}")
        return self

    def predict(self, data: Any, *, stable: bool = False) -> Any:
        """Send rows to the model (``/invocations``): a pandas DataFrame, a list of rows, an array, or a body dict.
        Answers the ``predictions`` (a DataFrame when given one and pandas is installed)."""
        base = self.data.get("stable_endpoint") if stable else self.data.get("endpoint")
        answer = self._client._t.post(f"{base}/invocations", json=_inference_body(data))
        predictions = answer.get("predictions", answer) if isinstance(answer, dict) else answer
        pd = _pandas()
        if pd is None:
            return predictions
        if isinstance(data, pd.DataFrame) and isinstance(predictions, list):
            return pd.DataFrame(predictions, index=data.index)
        return predictions

    def stop(self) -> None:
        self._client._t.delete(f"/api/v1/deployments/{_seg(self.id)}")
        self.data["status"] = "stopped"

    def rollback(self) -> "Deployment":
        return Deployment(self._client, self._client._t.post(f"/api/v1/deployments/{_seg(self.id)}/rollback"))

    def metrics(self, window: str = "1h") -> Dict[str, Any]:
        return dict(self._client._t.get(f"/api/v1/deployments/{_seg(self.id)}/metrics", params={"window": window}))

    def drift(self, hours: int = 24) -> Dict[str, Any]:
        """Drift per feature and for the prediction over the last ``hours`` (PSI, chi-square p-value, missing and
        invalid shares per window), the reference beside the newest window, and where the reference came from."""
        return dict(self._client._t.get(f"/api/v1/deployments/{_seg(self.id)}/drift", params={"hours": hours}))

    def set_sample_rate(self, rate: float) -> float:
        """The share (0–1) of answered requests sampled for drift monitoring; 0 turns sampling off."""
        return float(self._client._t.request("PUT", f"/api/v1/deployments/{_seg(self.id)}/sampling", json={"sample_rate": rate})["sample_rate"])


class DeploymentsAPI:
    def __init__(self, client: "Cairn") -> None:
        self._client = client

    def list(self, *, team: Optional[str] = None, environment: Optional[str] = None) -> List[Deployment]:
        answer = self._client._t.get("/api/v1/deployments", params={"team": team, "environment": environment})
        return [Deployment(self._client, d) for d in answer["deployments"]]

    def get(self, deployment_id: str) -> Deployment:
        return Deployment(self._client, self._client._t.get(f"/api/v1/deployments/{_seg(deployment_id)}"))


# ---------------------------------------------------------------------------------------------------- approvals

class ApprovalRequest(Resource):
    """A production deploy waiting for a team lead (``status`` pending, approved, rejected, expired, cancelled)."""

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    def __repr__(self) -> str:
        return f"<ApprovalRequest {self.id} {self.data.get('model')} v{self.data.get('version')} {self.status}>"

    def refresh(self) -> "ApprovalRequest":
        self.data = self._client._t.get(f"/api/v1/approvals/{_seg(self.id)}")
        return self

    def approve(self, comment: str = "") -> "ApprovalRequest":
        return self._client.approvals.approve(self.id, comment)

    def reject(self, reason: str) -> "ApprovalRequest":
        return self._client.approvals.reject(self.id, reason)


class ApprovalsAPI:
    def __init__(self, client: "Cairn") -> None:
        self._client = client

    def list(self, *, status: Optional[str] = None, team: Optional[str] = None) -> List[ApprovalRequest]:
        answer = self._client._t.get("/api/v1/approvals", params={"status": status, "team": team})
        return [ApprovalRequest(self._client, a) for a in answer["approvals"]]

    def get(self, approval_id: str) -> ApprovalRequest:
        return ApprovalRequest(self._client, self._client._t.get(f"/api/v1/approvals/{_seg(approval_id)}"))

    def approve(self, approval_id: str, comment: str = "") -> ApprovalRequest:
        return ApprovalRequest(self._client, self._client._t.post(f"/api/v1/approvals/{_seg(approval_id)}/approve", json={"comment": comment}))

    def reject(self, approval_id: str, reason: str) -> ApprovalRequest:
        return ApprovalRequest(self._client, self._client._t.post(f"/api/v1/approvals/{_seg(approval_id)}/reject", json={"comment": reason}))


# ---------------------------------------------------------------------------------------------------- client

class Cairn:
    """A connection to Cairn. ``url``/``token`` default to CAIRN_URL/CAIRN_TOKEN, then to ``cairn login``'s config."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, timeout: float = 30.0,
                 max_retries: int = 4, backoff: float = 0.5, transport: Optional[httpx.BaseTransport] = None) -> None:
        self.url, self.token = resolve(url, token)
        self._t = Transport(self.url, self.token, timeout=timeout, max_retries=max_retries, backoff=backoff, transport=transport)
        self.experiments = ExperimentsAPI(self)
        self.jobs = JobsAPI(self)
        self.sweeps = SweepsAPI(self)
        self.models = ModelsAPI(self)
        self.deployments = DeploymentsAPI(self)
        self.approvals = ApprovalsAPI(self)

    def __enter__(self) -> "Cairn":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._t.close()

    def __repr__(self) -> str:
        return f"<Cairn {self.url}>"

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """Any API call, with the client's auth, retries and typed errors."""
        return self._t.request(method, path, **kw)

    def run(self, run_id: str) -> Dict[str, Any]:
        """A run with its params, latest metrics, tags and artifacts root."""
        return dict(self._t.get(f"/api/v1/runs/{_seg(run_id)}"))

    def artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one artifact of a run (``path`` inside its artifact root, e.g. ``"model/MLmodel"``)."""
        info = self.run(run_id).get("info") or {}
        clean = "/".join(_seg(p) for p in path.strip("/").split("/") if p)
        return self._t.send("GET", f"/api/2.0/mlflow-artifacts/artifacts/{_seg(str(info.get('experiment_id')))}/{_seg(run_id)}/artifacts/{clean}").content

    def me(self) -> Dict[str, Any]:
        return dict(self._t.get("/api/v1/me"))

    def default_team(self) -> str:
        teams = self.me().get("teams") or []
        if not teams:
            raise CairnError("This token belongs to no team; pass team=...")
        return str(teams[0]["slug"])

    def upload_code(self, path: Union[str, Any] = ".", *, team: Optional[str] = None, filename: Optional[str] = None) -> Dict[str, Any]:
        """Pack ``path`` (respecting .gitignore) and upload it as a code archive; returns the archive."""
        from pathlib import Path

        folder = Path(path)
        if not folder.is_dir():
            raise CairnError(f"{folder} is not a folder")
        data = _archive.pack(folder)
        name = filename or f"{folder.resolve().name or 'code'}.tar.gz"
        return dict(self._t.post("/api/v1/code-archives", params={"team": team, "filename": name}, content=data,
                            headers={"Content-Type": "application/gzip"}))

    def deploy(self, model: str, *, version: Optional[Union[int, str]] = None, alias: Optional[str] = None,
               environment: str = "staging", replicas: Optional[int] = None, auto_scale: Optional[bool] = None,
               min_replicas: Optional[int] = None, max_replicas: Optional[int] = None, traffic: Optional[int] = None,
               team: Optional[str] = None) -> Union[Deployment, ApprovalRequest]:
        """Deploy a model version (or alias). Staging answers a :class:`Deployment`; production answers the
        :class:`ApprovalRequest` a team lead decides."""
        body: Dict[str, Any] = {"environment": environment}
        for key, value in (("team", team), ("version", int(version) if version is not None else None), ("alias", alias),
                           ("replicas", replicas), ("auto_scale", auto_scale), ("min_replicas", min_replicas),
                           ("max_replicas", max_replicas), ("traffic", traffic)):
            if value is not None:
                body[key] = value
        answer = self._t.post(f"/api/v1/models/{_seg(model)}/deploy", json=body)
        if "approval_request_id" in answer:
            return self.approvals.get(answer["approval_request_id"])
        return self.deployments.get(answer["deployment_id"])

    def usage(self, team: Optional[str] = None) -> Dict[str, Any]:
        """``{quota, used, queued_jobs, ...}`` of a team (default: the token's team)."""
        return dict(self._t.get(f"/api/v1/teams/{_seg(team or self.default_team())}/usage"))

    def quota(self, team: Optional[str] = None) -> Dict[str, Any]:
        return dict(self.usage(team)["quota"])

    def costs(self, window: str = "30d", aggregate: str = "team", *, step: Optional[str] = None,
              team: Optional[str] = None, as_frame: Optional[bool] = None) -> Any:
        """Costs over ``window``: a pandas DataFrame (columns key, time, amount; one row per step) when pandas is
        installed, else the API's ``{window, currency, totals, series}``. ``as_frame=False`` forces the dict."""
        answer = self._t.get("/api/v1/costs", params={"window": window, "aggregate": aggregate, "step": step, "team": team})
        if as_frame is False:
            return answer
        pd = _pandas()
        if pd is None:
            if as_frame:
                raise CairnError("as_frame=True needs pandas: pip install 'cairn[pandas]'") from None
            return answer
        rows = [{"key": s["key"], "time": pd.Timestamp(int(t), unit="s", tz="UTC"), "amount": float(a)}
                for s in answer.get("series", []) for t, a in s.get("points", [])]
        frame = pd.DataFrame(rows, columns=["key", "time", "amount"])
        frame.attrs.update({"window": answer.get("window"), "currency": answer.get("currency"), "totals": answer.get("totals")})
        return frame
