"""The SDK against a live Cairn (conftest.py starts one with a fresh data dir and the demo organization)."""
from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cairn
from cairn import (ApprovalRequest, Cairn, Conflict, Deployment, Forbidden, InvalidInput, JobFailed, JobTimeout, NotFound,
                   Unauthenticated)

from conftest import DroppingProxy, wait_until

FEATURES = [[12, 70.5, 845.0, 1, 0, 1, 0, 1, 0, 2, 1], [60, 20.0, 1200.0, 0, 1, 0, 1, 0, 1, 0, 0]]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_me_names_the_user_and_the_tokens_team(ds: Cairn) -> None:
    me = ds.me()
    assert me["user"]["email"] == "ds@example.com"
    assert [t["slug"] for t in me["teams"]] == ["churn"]
    assert ds.default_team() == "churn"


def test_a_bad_token_is_refused_as_unauthenticated(server_url: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        Cairn(server_url, "cairn_not-a-real-token").me()
    assert info.value.status == 401 and info.value.code == "unauthenticated" and info.value.message


def test_experiments_create_get_and_list_across_pages(ds: Cairn) -> None:
    name = unique("sdk-exp")
    created = ds.experiments.create(name, description="from the SDK tests")
    assert created.name == name and created.team == "churn" and created.data["description"] == "from the SDK tests"
    again = ds.experiments.get(created.id)
    assert again.id == created.id and again.data["run_count"] == 0
    one_by_one = [e.id for e in ds.experiments.list(page_size=1)]
    all_at_once = [e.id for e in ds.experiments.list(page_size=1000)]
    assert len(one_by_one) >= 3 and one_by_one == all_at_once  # the iterator followed next_page_token page after page
    assert created.id in all_at_once
    assert [e.id for e in ds.experiments.list(q=name)] == [created.id]
    assert ds.experiments.get_or_create(name).id == created.id


def test_invalid_input_carries_the_field_errors(ds: Cairn) -> None:
    with pytest.raises(InvalidInput) as info:
        ds.experiments.create("   ")
    assert info.value.status == 400 and "name" in info.value.fields


def test_another_teams_objects_answer_not_found(ds: Cairn, fraud: Cairn) -> None:
    theirs = fraud.experiments.create(unique("fraud-only"))
    with pytest.raises(NotFound) as info:
        ds.experiments.get(theirs.id)
    assert info.value.code == "not_found" and info.value.status == 404
    with pytest.raises(NotFound):
        ds.experiments.create(unique("sneaky"), team="fraud")
    mine = next(iter(ds.jobs.list()))
    with pytest.raises(NotFound):
        fraud.jobs.get(mine.id)
    assert all(e.team == "fraud" for e in fraud.experiments.list())


def test_train_packs_the_folder_and_waits_for_success(ds: Cairn, project: Path) -> None:
    exp = ds.experiments.create(unique("sdk-train"))
    job = exp.train("train.py", path=project, requirements="requirements.txt", instance_type="cpu.small",
                    env={"LINES": "3"}, max_runtime=120)
    assert job.id and job.run_id and job.status in ("queued", "admitted", "running", "succeeded")
    assert job.data["experiment_id"] == exp.id and job.data["code_archive"]["files"] == 5
    assert job.data["max_runtime_seconds"] == 120 and job.data["resources"]["instance_type"] == "cpu.small"
    out = io.StringIO()
    assert job.wait(timeout=120, log=out) is job
    assert job.status == "succeeded"
    lines = out.getvalue().splitlines()
    assert [ln for ln in lines if ln.startswith("line ")] == ["line 0", "line 1", "line 2"]
    files = next(ln for ln in lines if ln.startswith("files:"))
    assert "lib/util.py" in files and "train.py" in files
    assert "data/big.csv" not in files and "run.log" not in files and "scratch.tmp" not in files  # .gitignore'd
    assert "line 2" in job.logs()
    assert ds.run(job.run_id)["info"]["experiment_id"] == exp.id
    assert [j.id for j in exp.jobs()] == [job.id]
    assert "<table>" in job._repr_html_() and "cost so far" in job._repr_html_() and f"/jobs/{job.id}" in job._repr_html_()
    runs = list(exp.runs())
    assert [r["run_id"] for r in runs] == [job.run_id]


def test_a_failing_job_raises_its_reason(ds: Cairn, project: Path) -> None:
    exp = ds.experiments.create(unique("sdk-fail"))
    job = exp.train("train.py", path=project, instance_type="cpu.small", env={"LINES": "1", "FAIL": "1"})
    with pytest.raises(JobFailed) as info:
        job.wait(timeout=120, log=False)
    err = info.value
    assert err.job is job and err.status == "failed" and err.exit_code == 1
    assert err.message == job.data["message"] and "code 1" in err.message
    assert err.log_tail[-1] == "bad data: column tenure is missing"
    assert "bad data: column tenure is missing" in str(err)


def test_a_failing_job_names_the_cause_found_in_its_log(ds: Cairn, project: Path) -> None:
    exp = ds.experiments.create(unique("sdk-cause"))
    job = exp.train("train.py", path=project, instance_type="cpu.small", env={"LINES": "1", "FAIL": "raise"})
    with pytest.raises(JobFailed) as info:
        job.wait(timeout=120, log=False)
    err = info.value
    assert err.kind == "exception" and err.failure is not None
    assert err.failure["summary"] == "ValueError: bad data: column tenure is missing"
    line = err.failure["line"]
    assert err.message == f"ValueError: bad data: column tenure is missing (line {line} of the log)"
    assert job.logs().split("\n")[line - 1] == "ValueError: bad data: column tenure is missing"
    assert "last output" not in str(err)


def test_a_dropped_log_stream_resumes_without_losing_or_repeating_lines(ds: Cairn, dropping_proxy: DroppingProxy, project: Path) -> None:
    via_proxy = Cairn(dropping_proxy.url, ds.token)
    exp = via_proxy.experiments.create(unique("sdk-drop"))
    job = exp.train("train.py", path=project, instance_type="cpu.small", env={"LINES": "8", "PAUSE": "0.4"})
    out = io.StringIO()
    job.wait(timeout=120, log=out)
    assert dropping_proxy.drops == 1
    assert len(dropping_proxy.stream_requests) >= 2
    assert b"last-event-id: " in dropping_proxy.stream_requests[-1].lower()
    assert [ln for ln in out.getvalue().splitlines() if ln.startswith("line ")] == [f"line {i}" for i in range(8)]
    assert job.status == "succeeded"


def test_wait_times_out_and_cancel_stops_the_job(ds: Cairn, project: Path) -> None:
    exp = ds.experiments.create(unique("sdk-cancel"))
    job = exp.train("train.py", path=project, instance_type="cpu.small", env={"LINES": "200", "PAUSE": "0.5"})
    with pytest.raises(JobTimeout):
        job.wait(timeout=3, log=False)
    assert job.cancel().id == job.id
    wait_until(lambda: job.refresh().status == "cancelled", 60, "the job to be cancelled")
    with pytest.raises(JobFailed) as info:
        job.wait(timeout=30, log=False)
    assert info.value.status == "cancelled" and "cancel" in info.value.message


def test_retry_runs_a_finished_job_again(ds: Cairn, project: Path) -> None:
    exp = ds.experiments.create(unique("sdk-retry"))
    first = exp.train("train.py", path=project, instance_type="cpu.small", env={"LINES": "1"}).wait(timeout=120, log=False)
    second = first.retry()
    assert second.id != first.id and second.data["command"] == first.data["command"]
    assert second.wait(timeout=120, log=False).status == "succeeded"


def test_another_users_job_may_be_retried_or_cancelled_only_by_a_lead(ds: Cairn, mle: Cairn, lead: Cairn, project: Path) -> None:
    exp = mle.experiments.create(unique("sdk-owner"))
    job = exp.train("train.py", path=project, instance_type="cpu.small", env={"LINES": "1"}).wait(timeout=120, log=False)
    with pytest.raises(Forbidden) as info:
        ds.jobs.get(job.id).retry()
    assert info.value.status == 403 and "team lead" in info.value.message
    again = lead.jobs.get(job.id).retry()
    assert again.id != job.id
    again.cancel()


def test_a_built_in_example_runs_without_local_code(ds: Cairn) -> None:
    exp = ds.experiments.create(unique("sdk-example"))
    job = exp.train(source="examples/churn", instance_type="cpu.small")
    assert job.data["source"] == "examples/churn" and job.data["code_archive"] is None
    job.cancel()


def test_jobs_list_filters_by_status(ds: Cairn) -> None:
    statuses = {j.status for j in ds.jobs.list(status="succeeded")}
    assert statuses == {"succeeded"}


def test_models_versions_and_aliases(lead: Cairn, ds: Cairn) -> None:
    names = [m.name for m in ds.models.list()]
    assert "churn-classifier" in names
    model = lead.models.get("churn-classifier")
    versions = [v["version"] for v in model.versions]
    assert len(versions) >= 2 and model.data["team"] == "churn"
    model.set_alias("sdk-test", versions[-1])
    assert lead.models.get("churn-classifier").aliases["sdk-test"] == versions[-1]
    model.delete_alias("sdk-test")
    assert "sdk-test" not in lead.models.get("churn-classifier").aliases


def test_register_a_runs_model_folder_as_new_versions(ds: Cairn, fraud: Cairn) -> None:
    source = ds.models.get("churn-classifier").versions[-1]
    name = unique("sdk-registered")
    first = ds.models.register(name, source["run_id"], "model", description="from the SDK")
    assert first["version"] == 1 and first["name"] == name and first["run_id"] == source["run_id"]
    assert first["source"] == f"runs:/{source['run_id']}/model"
    second = ds.models.register(name, source["run_id"])  # the model exists now: a second version of it
    assert second["version"] == 2
    model = ds.models.get(name)
    assert sorted(v["version"] for v in model.versions) == [1, 2] and model.data["team"] == "churn"
    with pytest.raises(NotFound):  # another team's run is not revealed, and nothing is registered from it
        fraud.models.register(unique("stolen"), source["run_id"])
    assert not any(m.name.startswith("stolen-") for m in fraud.models.list())
    with pytest.raises(InvalidInput):
        ds.models.register("bad name/with slash", source["run_id"])
    empty = unique("sdk-empty")
    with pytest.raises(InvalidInput) as info:  # no files at that path: refused, and no empty model is left behind
        ds.models.register(empty, source["run_id"], "no-such-folder")
    assert "holds no files" in info.value.message
    with pytest.raises(NotFound):
        ds.models.get(empty)


def test_a_jobs_run_is_registered_and_its_artifacts_read(ds: Cairn) -> None:
    exp = ds.experiments.create(unique("sdk-register-job"))
    job = exp.train(script="train.py", path=Path(__file__).resolve().parents[3] / "examples" / "churn-python",
                    instance_type="cpu.small", args=["--epochs", "2", "--epoch-delay-ms", "0"]).wait(timeout=180, log=False)
    version = job.register_model(unique("sdk-job-model"))
    assert version["version"] == 1 and version["run_id"] == job.run_id
    assert b"flavors" in ds.artifact(job.run_id, "model/MLmodel")
    with pytest.raises(NotFound):
        ds.artifact(job.run_id, "model/no-such-file")


def test_deploy_to_staging_predict_and_stop(ds: Cairn) -> None:
    dep = ds.deploy("churn-classifier", alias="champion", environment="staging", replicas=1, auto_scale=False)
    assert isinstance(dep, Deployment) and dep.data["environment"] == "staging"
    assert dep.stable_endpoint == f"{ds.url}/serve/churn/churn-classifier/staging"
    assert dep.endpoint == f"{ds.url}/serve/churn/{dep.id}"
    dep.wait_ready(timeout=120)
    rows = dep.predict(FEATURES)
    assert len(rows) == 2 and all(abs(sum(r) - 1) < 1e-4 for r in rows)
    frame = pd.DataFrame(FEATURES, columns=[f"f{i}" for i in range(11)], index=["a", "b"])
    predicted = dep.predict(frame)
    assert isinstance(predicted, pd.DataFrame) and list(predicted.index) == ["a", "b"]
    assert predicted.to_numpy().ravel().tolist() == pytest.approx([x for r in rows for x in r])
    assert dep.predict({"inputs": FEATURES[:1]})[0] == pytest.approx(rows[0])
    assert dep.predict(np.array(FEATURES, dtype="float32"))[1] == pytest.approx(rows[1])
    assert dep.id in [d.id for d in ds.deployments.list(environment="staging")]
    dep.stop()
    assert ds.deployments.get(dep.id).status == "stopped"


def test_rollback_deploys_the_version_a_deployment_replaced(ds: Cairn) -> None:
    older = ds.deploy("churn-classifier", version=3, replicas=1, auto_scale=False).wait_ready(timeout=120)
    newer = ds.deploy("churn-classifier", version=4, replicas=1, auto_scale=False).wait_ready(timeout=120)
    back = newer.rollback()
    assert isinstance(back, Deployment) and back.id not in (older.id, newer.id)
    assert back.data["version"] == 3 and back.data["environment"] == "staging"
    for d in (older, newer, back):
        d.stop()


def test_jobs_and_runs_iterate_every_page_and_filter(ds: Cairn) -> None:
    by_one = [j.id for j in ds.jobs.list(limit=1)]
    at_once = [j.id for j in ds.jobs.list(limit=500)]
    assert len(by_one) >= 3 and by_one == at_once
    sweep = next(e for e in ds.experiments.list() if e.data["run_count"] >= 20)
    all_runs = list(sweep.runs(page_size=7))
    assert len(all_runs) == sweep.data["run_count"] and len({r["run_id"] for r in all_runs}) == len(all_runs)
    finished = list(sweep.runs("attributes.status = 'FINISHED'", page_size=50))
    assert finished and all(r["status"] == "FINISHED" for r in finished)


def test_deploy_latest_picks_the_newest_version_of_the_experiments_runs(lead: Cairn) -> None:
    model = lead.models.get("churn-classifier")
    newest = max(model.versions, key=lambda v: v["created_at"])
    experiment_id = lead.run(newest["run_id"])["info"]["experiment_id"]
    dep = lead.experiments.get(experiment_id).deploy_latest(replicas=1, auto_scale=False)
    assert isinstance(dep, Deployment) and dep.data["version"] == newest["version"]
    dep.stop()


def test_production_needs_a_role_that_may_and_an_approval(ds: Cairn, mle: Cairn, lead: Cairn) -> None:
    with pytest.raises(Forbidden) as info:  # a data scientist may only deploy to staging
        ds.deploy("churn-classifier", version=4, environment="production")
    assert info.value.status == 403 and info.value.code == "forbidden" and "staging" in info.value.message
    request = mle.deploy("churn-classifier", version=4, environment="production", replicas=1, auto_scale=False)
    assert isinstance(request, ApprovalRequest) and request.status == "pending"
    assert request.id in [a.id for a in lead.approvals.list(status="pending")]
    with pytest.raises(Forbidden):  # only a team lead decides
        mle.approvals.approve(request.id, "self-approval")
    decided = lead.approvals.get(request.id).reject("latency evidence missing")
    assert decided.status == "rejected"
    with pytest.raises(Conflict):  # no longer pending
        lead.approvals.approve(request.id, "too late")
    second = mle.deploy("churn-classifier", version=4, environment="production", replicas=1, auto_scale=False)
    assert lead.approvals.approve(second.id, "looks good").status == "approved"


def test_quota_usage_and_costs(ds: Cairn) -> None:
    usage = ds.usage()
    assert usage["quota"]["cpu"] == 64 and "used" in usage
    assert ds.quota()["monthly_budget_usd"] == 5000
    frame = ds.costs("7d", "team", step="1d")
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["key", "time", "amount"]
    assert set(frame["key"]) == {"churn"} and len(frame) == 7 and frame.attrs["currency"] == "USD"
    raw = ds.costs("7d", "team", as_frame=False)
    assert raw["currency"] == "USD" and raw["totals"][0]["key"] == "churn"
    with pytest.raises(NotFound):
        ds.usage("fraud")


def test_the_official_mlflow_client_logs_into_cairn_after_configure(ds: Cairn, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")  # the test extra installs mlflow-skinny: the real client, not a stand-in
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    name = unique("sdk-mlflow")
    cairn.mlflow.configure(ds.url, ds.token, experiment=name)
    try:
        with mlflow.start_run(run_name="from-mlflow") as run:
            mlflow.log_param("lr", "0.1")
            for step, loss in enumerate([0.9, 0.6, 0.4]):
                mlflow.log_metric("loss", loss, step=step)
        logged = ds.run(run.info.run_id)
        assert logged["info"]["run_name"] == "from-mlflow" and logged["info"]["status"] == "FINISHED"
        exp = ds.experiments.get(logged["info"]["experiment_id"])
        assert exp.name == name and exp.team == "churn"
        [row] = list(exp.runs())
        assert row["params"] == {"lr": "0.1"} and row["metrics"]["loss"] == pytest.approx(0.4)
    finally:
        mlflow.set_tracking_uri("")


def test_mlflow_configure_points_the_tracking_client_at_cairn(ds: Cairn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    values = cairn.mlflow.configure(ds.url, ds.token)
    assert values == {"MLFLOW_TRACKING_URI": ds.url, "MLFLOW_TRACKING_TOKEN": ds.token}
    assert os.environ["MLFLOW_TRACKING_URI"] == ds.url and os.environ["MLFLOW_TRACKING_TOKEN"] == ds.token
