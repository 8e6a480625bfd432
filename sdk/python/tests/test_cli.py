"""The `cairn` CLI against the live server: each command as a table and as --json, and the API's refusals."""
from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any, Callable, List

import pytest
from click.testing import CliRunner as _CliRunner, Result

from cairn import Cairn
from cairn.cli import main

def CliRunner() -> _CliRunner:
    """Separate stdout and stderr (click 8.2 always does; 8.1, the last for Python 3.9, needs mix_stderr=False)."""
    try:
        return _CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return _CliRunner()


FEATURES = [[12, 70.5, 845.0, 1, 0, 1, 0, 1, 0, 2, 1]]


@pytest.fixture()
def cli(isolated_config: Path, server_url: str, token_for: Callable[..., str]) -> Callable[..., Result]:
    """run(*args, user=None) — the CLI as ds@example.com (config written by `cairn login`), or with --token of `user`."""
    runner = CliRunner()

    def run(*args: str, user: str = "", team: str = "churn", code: int = 0, input: str = "") -> Result:
        prefix: List[str] = ["--token", token_for(user, team)] if user else []
        result = runner.invoke(main, [*prefix, *args], input=input or None, catch_exceptions=False)
        assert result.exit_code == code, f"cairn {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        return result

    run("login", "--url", server_url, "--token", token_for("ds@example.com", "churn"))
    return run


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_login_with_email_and_password_writes_a_0600_config(isolated_config: Path, server_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["login", "--url", server_url, "--email", "lead@example.com", "--password", "cairn-demo", "--team", "churn", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["user"] == "lead@example.com"
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    stored = json.loads(isolated_config.read_text())
    assert stored["url"] == server_url and stored["token"].startswith("cairn_")
    assert Cairn().me()["user"]["email"] == "lead@example.com"  # the SDK reads the CLI's config
    bad = runner.invoke(main, ["login", "--url", server_url, "--email", "lead@example.com", "--password", "nope", "--team", "churn"])
    assert bad.exit_code == 3 and "Sign-in as lead@example.com failed" in bad.stderr


def test_env_vars_override_the_config(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, token_for: Callable[..., str]) -> None:
    assert "ds@example.com" in cli("whoami").stdout
    monkeypatch.setenv("CAIRN_TOKEN", token_for("mle@example.com", "churn"))
    assert as_json(cli("whoami", "--json"))["user"]["email"] == "mle@example.com"


def test_whoami_and_experiments(cli: Callable[..., Result]) -> None:
    out = cli("whoami").stdout
    assert "ds@example.com" in out and "data_scientist" in out
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = as_json(cli("experiments", "create", name, "--json"))
    assert created["name"] == name and created["team"] == "churn"
    listed = as_json(cli("experiments", "-q", name, "--json"))
    assert [e["experiment_id"] for e in listed] == [created["experiment_id"]]
    assert name in cli("experiments").stdout


def test_jobs_submit_follow_ls_show_logs_retry_and_runs(cli: Callable[..., Result], project: Path) -> None:
    name = f"cli-jobs-{uuid.uuid4().hex[:8]}"
    result = cli("jobs", "submit", str(project), "-e", name, "--script", "train.py", "--env", "LINES=2", "-f")
    assert "line 0\nline 1\n" in result.stdout and "succeeded" in result.stdout
    job_id = result.stdout.strip().splitlines()[-1].split()[0]
    shown = as_json(cli("jobs", "show", job_id, "--json"))
    assert shown["status"] == "succeeded" and shown["resources"]["instance_type"] == "cpu.small"
    assert job_id[:8] in cli("jobs", "ls", "--limit", "5").stdout
    assert job_id in [j["job_id"] for j in as_json(cli("jobs", "ls", "--status", "succeeded", "--json"))]
    assert "line 1" in cli("jobs", "logs", job_id).stdout
    assert "line 1" in cli("jobs", "logs", job_id, "-f").stdout
    retried = as_json(cli("jobs", "retry", job_id, "--json"))
    assert retried["job_id"] != job_id and retried["command"] == shown["command"]
    runs = as_json(cli("runs", "ls", shown["experiment_id"], "--json"))
    assert shown["run_id"] in [r["run_id"] for r in runs]
    assert as_json(cli("runs", "show", shown["run_id"], "--json"))["info"]["run_id"] == shown["run_id"]


def test_a_failing_job_exits_non_zero_with_its_reason(cli: Callable[..., Result], project: Path) -> None:
    result = cli("jobs", "submit", str(project), "-e", "cli-failing", "--script", "train.py", "--env", "FAIL=1", "--env", "LINES=0", "-f", code=1)
    assert "failed: exited with code 1" in result.stderr and "bad data: column tenure is missing" in result.stderr


def test_jobs_cancel(cli: Callable[..., Result], project: Path) -> None:
    submitted = as_json(cli("jobs", "submit", str(project), "-e", "cli-cancel", "--script", "train.py", "--env", "LINES=100", "--env", "PAUSE=1", "--json"))
    cancelled = as_json(cli("jobs", "cancel", submitted["job_id"], "--json"))
    assert cancelled["job_id"] == submitted["job_id"] and cancelled["status"] in ("cancelled", "running")


def test_bad_input_prints_the_fields_and_exits_2(cli: Callable[..., Result], project: Path) -> None:
    result = cli("jobs", "submit", str(project), "-e", "cli-bad", "--script", "train.py", "--env", "CAIRN_SECRET=1", code=2)
    assert "invalid_input" in result.stderr and "set by Cairn" in result.stderr


def test_models_ls_show_alias(cli: Callable[..., Result]) -> None:
    assert "churn-classifier" in cli("models", "ls").stdout
    model = as_json(cli("models", "show", "churn-classifier", "--json"))
    version = str(model["versions"][-1]["version"])
    assert "champion" in cli("models", "show", "churn-classifier").stdout
    assert as_json(cli("models", "alias", "churn-classifier", "cli-test", version, "--json", user="lead@example.com"))["cli-test"] == int(version)
    assert "cli-test" not in as_json(cli("models", "alias", "churn-classifier", "cli-test", "--delete", "--json", user="lead@example.com"))


def test_models_register(cli: Callable[..., Result]) -> None:
    run_id = as_json(cli("models", "show", "churn-classifier", "--json"))["versions"][-1]["run_id"]
    name = f"cli-registered-{uuid.uuid4().hex[:8]}"
    registered = as_json(cli("models", "register", name, "--run", run_id, "--json"))
    assert registered["version"] == 1 and registered["source"] == f"runs:/{run_id}/model"
    table = cli("models", "register", name, "--run", run_id, "--path", "model").stdout
    assert name in table and "runs:/" in table
    assert sorted(v["version"] for v in as_json(cli("models", "show", name, "--json"))["versions"]) == [1, 2]
    refused = cli("models", "register", name, "--run", run_id, user="ds.fraud@example.com", team="fraud", code=5)
    assert "not found" in refused.stderr.lower()


def test_deploy_deployments_predict_stop(cli: Callable[..., Result]) -> None:
    dep = as_json(cli("deploy", "churn-classifier", "--alias", "champion", "--replicas", "1", "--no-auto-scale", "--json"))
    assert dep["environment"] == "staging" and dep["endpoint"] == f"/serve/churn/{dep['deployment_id']}"
    assert dep["deployment_id"] in [d["deployment_id"] for d in as_json(cli("deployments", "ls", "--environment", "staging", "--json"))]
    assert dep["deployment_id"][:8] in cli("deployments", "ls").stdout
    for _ in range(120):
        if as_json(cli("deployments", "show", dep["deployment_id"], "--json"))["status"] == "ready":
            break
        import time
        time.sleep(1)
    predictions = as_json(cli("deployments", "predict", dep["deployment_id"], "--data", json.dumps(FEATURES)))
    assert len(predictions) == 1 and len(predictions[0]) == 2
    assert len(as_json(cli("deployments", "predict", dep["deployment_id"], "--data", "-", input=json.dumps({"inputs": FEATURES})))) == 1
    assert "stopped" in cli("deployments", "stop", dep["deployment_id"]).stdout
    assert as_json(cli("deployments", "show", dep["deployment_id"], "--json"))["status"] == "stopped"


def test_deployments_rollback(cli: Callable[..., Result], ds: Cairn) -> None:
    older = ds.deploy("churn-classifier", version=3, replicas=1, auto_scale=False).wait_ready(timeout=120)  # type: ignore[union-attr]
    newer = ds.deploy("churn-classifier", version=4, replicas=1, auto_scale=False).wait_ready(timeout=120)  # type: ignore[union-attr]
    back = as_json(cli("deployments", "rollback", newer.id, "--json"))
    assert back["version"] == 3 and back["deployment_id"] not in (older.id, newer.id)
    for d in (older.id, newer.id, back["deployment_id"]):
        cli("deployments", "stop", d)


def test_deployments_rollback_answers_with_the_apis_word(cli: Callable[..., Result]) -> None:
    staging = [d for d in as_json(cli("deployments", "ls", "--environment", "production", "--json")) if d["status"] == "ready"]
    assert staging, "the demo has a production deployment"
    result = CliRunner().invoke(main, ["deployments", "rollback", staging[0]["deployment_id"]])
    # data scientists may not touch production: the API's 403 and message, exit code 4
    assert result.exit_code == 4 and "forbidden" in result.stderr


def test_approvals_ls_approve_reject_and_the_wrong_role(cli: Callable[..., Result]) -> None:
    refused = cli("deploy", "churn-classifier", "--version", "4", "--environment", "production", code=4)
    assert "forbidden" in refused.stderr and "staging" in refused.stderr
    req = as_json(cli("deploy", "churn-classifier", "--version", "4", "--environment", "production", "--replicas", "1", "--json", user="mle@example.com"))
    assert req["status"] == "pending"
    assert req["id"] in [a["id"] for a in as_json(cli("approvals", "ls", "--status", "pending", "--json", user="lead@example.com"))]
    assert req["id"] in cli("approvals", "ls", user="lead@example.com").stdout
    no = cli("approvals", "approve", req["id"], user="mle@example.com", code=4)
    assert "team leads" in no.stderr
    assert "rejected" in cli("approvals", "reject", req["id"], "--reason", "no canary yet", user="lead@example.com").stdout
    again = cli("approvals", "approve", req["id"], user="lead@example.com", code=6)
    assert "conflict" in again.stderr
    req2 = as_json(cli("deploy", "churn-classifier", "--version", "4", "--environment", "production", "--replicas", "1", "--json", user="mle@example.com"))
    assert as_json(cli("approvals", "approve", req2["id"], "--comment", "ok", "--json", user="lead@example.com"))["status"] == "approved"


def test_another_teams_objects_are_not_found(cli: Callable[..., Result]) -> None:
    theirs = as_json(cli("experiments", "create", f"fraud-{uuid.uuid4().hex[:6]}", "--json", user="ds.fraud@example.com", team="fraud"))
    result = cli("runs", "ls", theirs["experiment_id"], code=5)
    assert "not_found" in result.stderr
    assert cli("quota", "--team", "fraud", code=5).stderr


def test_quota_and_costs(cli: Callable[..., Result]) -> None:
    out = cli("quota").stdout
    assert "Quota of churn" in out and "monthly_budget_usd" in out and "5000" in out
    assert as_json(cli("quota", "--json"))["quota"]["cpu"] == 64
    assert "churn" in cli("costs", "--window", "7d").stdout
    costs = as_json(cli("costs", "--window", "7d", "--aggregate", "user", "--json"))
    assert costs["currency"] == "USD" and costs["aggregate"] == "user"


def test_help_everywhere_and_completion() -> None:
    runner = CliRunner()
    commands = [[], ["login"], ["whoami"], ["experiments"], ["experiments", "create"], ["runs", "ls"], ["runs", "show"],
                ["jobs", "submit"], ["jobs", "ls"], ["jobs", "show"], ["jobs", "logs"], ["jobs", "cancel"], ["jobs", "retry"],
                ["models", "ls"], ["models", "show"], ["models", "alias"], ["deploy"], ["deployments", "ls"], ["deployments", "show"],
                ["deployments", "predict"], ["deployments", "stop"], ["deployments", "rollback"], ["approvals", "ls"],
                ["approvals", "approve"], ["approvals", "reject"], ["quota"], ["costs"], ["completion"]]
    for cmd in commands:
        result = runner.invoke(main, [*cmd, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, cmd
    assert "_CAIRN_COMPLETE" in runner.invoke(main, ["completion", "bash"]).output


def test_no_credentials_is_a_clear_error(isolated_config: Path) -> None:
    result = CliRunner().invoke(main, ["whoami"])
    assert result.exit_code == 1 and "cairn login" in result.stderr
