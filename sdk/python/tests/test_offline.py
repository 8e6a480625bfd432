"""What needs no server: config resolution, the 0600 config file, typed errors, retries, .gitignore packing."""
from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path
from typing import List

import httpx
import pytest

from cairn import Cairn, ConfigError, InvalidInput, NotFound, QuotaExceeded, RateLimited, UpstreamUnavailable
from cairn._http import Transport
from cairn.client import Deployment
from cairn.archive import list_files, pack
from cairn.config import save_config


def test_url_and_token_from_env_then_config_then_arguments(isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="No Cairn URL"):
        Cairn()
    save_config("http://from-config:1/", "tok-config")
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    c = Cairn()
    assert (c.url, c.token) == ("http://from-config:1", "tok-config")
    monkeypatch.setenv("CAIRN_URL", "http://from-env:2")
    monkeypatch.setenv("CAIRN_TOKEN", "tok-env")
    assert (Cairn().url, Cairn().token) == ("http://from-env:2", "tok-env")
    explicit = Cairn("http://explicit:3", "tok-arg")
    assert (explicit.url, explicit.token) == ("http://explicit:3", "tok-arg")


def test_the_stored_token_is_never_sent_to_another_server(isolated_config: Path) -> None:
    save_config("http://stored:1", "tok-stored")
    assert Cairn("http://stored:1/").token == "tok-stored"
    with pytest.raises(ConfigError, match="No API token"):
        Cairn("http://elsewhere:2")


def test_missing_token_names_the_ways_to_give_one(isolated_config: Path) -> None:
    with pytest.raises(ConfigError, match="CAIRN_TOKEN"):
        Cairn("http://x:1")


def scripted(answers: List[httpx.Response], seen: List[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)
    return httpx.MockTransport(handle)


def test_retries_503_and_429_honouring_retry_after() -> None:
    seen: List[httpx.Request] = []
    sleeps: List[float] = []
    t = Transport("http://x", "tok", sleep=sleeps.append, transport=scripted([
        httpx.Response(503, headers={"retry-after": "2"}, json={"error": {"code": "upstream_unavailable", "message": "busy"}}),
        httpx.Response(429, headers={"retry-after": "1"}, json={"error": {"code": "rate_limited", "message": "slow down"}}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json={"ok": True}),
    ], seen))
    assert t.get("/api/v1/me") == {"ok": True}
    assert len(seen) == 4 and seen[0].headers["authorization"] == "Bearer tok"
    assert sleeps[:2] == [2.0, 1.0]  # Retry-After, in seconds
    assert 0 < sleeps[2] <= 2.0  # backoff without a hint: 0.5 * 2**2 with jitter


def test_a_post_is_not_repeated_after_a_502_but_is_after_429_and_503() -> None:
    seen: List[httpx.Request] = []
    t = Transport("http://x", "tok", sleep=lambda s: None, transport=scripted([
        httpx.Response(429, json={"error": {"code": "rate_limited", "message": "slow down"}}),
        httpx.Response(503, json={"error": {"code": "upstream_unavailable", "message": "nothing serves"}}),
        httpx.Response(502, json={"error": {"code": "upstream_unavailable", "message": "bad gateway"}}),
    ], seen))
    # A proxy's 502 may come after the server acted: submitting again could start the job twice.
    with pytest.raises(UpstreamUnavailable, match="bad gateway"):
        t.post("/api/v1/experiments/1/train", json={})
    assert len(seen) == 3


def test_retries_give_up_with_the_typed_error() -> None:
    sleeps: List[float] = []
    answers = [httpx.Response(429, json={"error": {"code": "rate_limited", "message": "Too many requests", "request_id": "r1"}})] * 3
    t = Transport("http://x", "tok", max_retries=2, sleep=sleeps.append, transport=scripted(list(answers), []))
    with pytest.raises(RateLimited) as info:
        t.get("/api/v1/jobs")
    assert (info.value.code, info.value.status, info.value.request_id, info.value.message) == ("rate_limited", 429, "r1", "Too many requests")
    assert len(sleeps) == 2


def test_errors_keep_the_trace_id_a_tracing_server_sends() -> None:
    t = Transport("http://x", "tok", sleep=lambda s: None, transport=scripted([
        httpx.Response(404, json={"error": {"code": "not_found", "message": "no team", "request_id": "r2", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}}),
        httpx.Response(404, json={"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run", "trace_id": "0af7651916cd43dd8448eb211c80319c"}),
        httpx.Response(404, json={"error": {"code": "not_found", "message": "no team", "request_id": "r3"}}),
    ], []))
    with pytest.raises(NotFound) as info:
        t.get("/api/v1/teams/nope")
    assert (info.value.request_id, info.value.trace_id) == ("r2", "4bf92f3577b34da6a3ce929d0e0e4736")
    with pytest.raises(NotFound) as info:
        t.get("/api/2.0/mlflow/runs/get")
    assert info.value.trace_id == "0af7651916cd43dd8448eb211c80319c"
    with pytest.raises(NotFound) as info:
        t.get("/api/v1/teams/nope")
    assert info.value.trace_id is None


def test_other_errors_are_not_retried_and_keep_code_message_fields() -> None:
    seen: List[httpx.Request] = []
    t = Transport("http://x", "tok", sleep=lambda s: None, transport=scripted([
        httpx.Response(400, json={"error": {"code": "invalid_input", "message": "bad", "fields": {"name": ["Give the experiment a name"]}}}),
        httpx.Response(409, json={"error": {"code": "quota_exceeded", "message": "over budget"}}),
        httpx.Response(502, json={"error": {"code": "upstream_unavailable", "message": "Prometheus is not configured"}}),
    ], seen))
    with pytest.raises(InvalidInput) as bad:
        t.post("/api/v1/experiments", json={})
    assert bad.value.fields == {"name": ["Give the experiment a name"]} and "name: Give the experiment a name" in str(bad.value)
    with pytest.raises(QuotaExceeded):
        t.post("/api/v1/experiments/1/train", json={})
    t.max_retries = 0
    with pytest.raises(UpstreamUnavailable, match="Prometheus"):
        t.get("/api/v1/deployments/x/metrics")
    assert len(seen) == 3


def test_packing_respects_gitignore_files_at_every_level(project: Path) -> None:
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref\n")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "x.pyc").write_bytes(b"\0")
    files = list_files(project)
    assert files == [".gitignore", "lib/.gitignore", "lib/util.py", "requirements.txt", "train.py"]
    with tarfile.open(fileobj=io.BytesIO(pack(project)), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == files
        assert tar.extractfile("lib/util.py").read() == b"X = 1\n"  # type: ignore[union-attr]


def test_the_package_type_checks_strictly() -> None:
    """The package ships py.typed: its own annotations must hold (mypy --strict)."""
    import subprocess
    import sys

    import cairn

    pytest.importorskip("mypy")
    src = Path(cairn.__file__).parent
    assert (src / "py.typed").exists()
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(src)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_experiment_sweep_posts_the_space_and_wait_polls_until_it_ends() -> None:
    import json

    seen: List[httpx.Request] = []
    sweep = {"sweep_id": "5f0c", "state": "running", "max_trials": 4, "counts": {"succeeded": 0}, "trials": [], "best_trial": None}
    ended = {**sweep, "state": "finished", "counts": {"succeeded": 4}, "best_trial": {"number": 2, "objective": 0.41, "run_id": "r2"}}
    c = Cairn("http://x", "tok", transport=scripted([
        httpx.Response(201, json=sweep),
        httpx.Response(200, json=sweep),
        httpx.Response(200, json=ended),
        httpx.Response(201, json={"trial": ended["best_trial"], "version": {"name": "churn-best", "version": "1"}}),
    ], seen))
    from cairn import Experiment, Sweep

    exp = Experiment(c, {"experiment_id": "12", "name": "churn", "team": "churn"})
    started = exp.sweep({"lr": {"type": "log_uniform", "low": 0.001, "high": 0.5}, "batch-size": [32, 64], "epoch-delay-ms": 0},
                        objective="val_loss", algorithm="bayesian", max_trials=4, source="examples/churn", max_runtime=600,
                        early_stopping={"type": "median", "min_trials": 2, "min_steps": 3})
    assert isinstance(started, Sweep) and started.state == "running"
    assert (seen[0].method, seen[0].url.path) == ("POST", "/api/v1/experiments/12/sweeps")
    assert json.loads(seen[0].content) == {
        "space": [{"name": "lr", "type": "log_uniform", "low": 0.001, "high": 0.5}, {"name": "batch-size", "type": "categorical", "values": [32, 64]},
                  {"name": "epoch-delay-ms", "type": "fixed", "value": 0}],
        "objective": {"metric": "val_loss", "direction": "minimize"}, "algorithm": "bayesian", "max_trials": 4,
        "early_stopping": {"type": "median", "min_trials": 2, "min_steps": 3},
        "template": {"source": "examples/churn", "max_runtime_seconds": 600},
    }
    done = started.wait(poll=0)
    assert done.state == "finished" and done.best_trial == {"number": 2, "objective": 0.41, "run_id": "r2"}
    assert [r.url.path for r in seen[1:3]] == ["/api/v1/sweeps/5f0c", "/api/v1/sweeps/5f0c"]
    assert done.register_best("churn-best")["version"] == {"name": "churn-best", "version": "1"}
    assert (seen[3].url.path, json.loads(seen[3].content)) == ("/api/v1/sweeps/5f0c/register-best", {"name": "churn-best", "path": "model"})


def test_deployment_drift_and_sample_rate_call_their_routes() -> None:
    seen: List[httpx.Request] = []
    c = Cairn("http://x", "tok", transport=scripted([
        httpx.Response(200, json={"deployment_id": "d-1", "features": [], "sample_rate": 0.1}),
        httpx.Response(200, json={"sample_rate": 0.5}),
    ], seen))
    dep = Deployment(c, {"deployment_id": "d-1"})
    assert dep.drift(hours=6)["sample_rate"] == 0.1
    assert dep.set_sample_rate(0.5) == 0.5
    assert [(r.method, r.url.path, r.url.query.decode()) for r in seen] == [("GET", "/api/v1/deployments/d-1/drift", "hours=6"), ("PUT", "/api/v1/deployments/d-1/sampling", "")]
    assert json.loads(seen[1].content) == {"sample_rate": 0.5}
