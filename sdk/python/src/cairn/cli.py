"""The `cairn` command line: tables by default, --json everywhere, the API's message and a non-zero exit on errors."""
from __future__ import annotations

import datetime as _dt
import functools
import json
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .auth import mint_token
from .client import Cairn, Job
from .config import config_path, save_config
from .errors import APIError, CairnError, JobFailed

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_CODES = {"invalid_input": 2, "unauthenticated": 3, "forbidden": 4, "not_found": 5, "conflict": 6, "quota_exceeded": 6}


def client(ctx: click.Context) -> Cairn:
    obj = ctx.find_root().obj or {}
    if "client" not in obj:
        obj["client"] = Cairn(url=obj.get("url"), token=obj.get("token"))
        ctx.find_root().obj = obj
    return obj["client"]  # type: ignore[no-any-return]


Column = Tuple[str, Callable[[Dict[str, Any]], Any]]


def emit(data: Any, as_json: bool, columns: Optional[Sequence[Column]] = None,
         title: Optional[str] = None) -> None:
    """Print ``data`` as JSON, or as a table (a list of rows) / key-value table (a dict)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, list):
        table = Table(title=title, show_lines=False, header_style="bold")
        cols: Sequence[Column] = columns or [col(str(k)) for k in (data[0].keys() if data else [])]
        for name, _ in cols:
            table.add_column(name)
        for row in data:
            table.add_row(*["" if (v := get(row)) is None else str(v) for _, get in cols])
        out.print(table)
        if not data:
            err.print("(none)")
    elif isinstance(data, dict):
        table = Table(title=title, show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for k, v in data.items():
            table.add_row(str(k), json.dumps(v, default=str) if isinstance(v, (dict, list)) else ("" if v is None else str(v)))
        out.print(table)
    else:
        click.echo(str(data))


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")(f)


def col(key: str, label: Optional[str] = None) -> Column:
    return (label or key, lambda r: r.get(key))


class CairnGroup(click.Group):
    """Turns SDK errors into the API's message on stderr and a non-zero exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JobFailed as e:
            err.print(f"[red]Error:[/red] {e}", markup=True, highlight=False)
            sys.exit(1)
        except APIError as e:
            err.print(f"[red]Error:[/red] {e.message} [dim]({e.code}, HTTP {e.status})[/dim]", markup=True, highlight=False)
            for field, problems in e.fields.items():
                err.print(f"  {field}: {', '.join(problems)}", markup=False, highlight=False)
            sys.exit(EXIT_CODES.get(e.code, 1))
        except CairnError as e:
            err.print(f"[red]Error:[/red] {e.message}", markup=True, highlight=False)
            sys.exit(1)


@click.group(cls=CairnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="CAIRN_URL", help="Cairn's address (default: CAIRN_URL, then `cairn login`'s config).")
@click.option("--token", envvar="CAIRN_TOKEN", help="API token (default: CAIRN_TOKEN, then `cairn login`'s config).")
@click.version_option(__version__, prog_name="cairn")
@click.pass_context
def main(ctx: click.Context, url: Optional[str], token: Optional[str]) -> None:
    """Cairn from the command line. Start with `cairn login`."""
    ctx.obj = {"url": url, "token": token}


# ------------------------------------------------------------------------------------------------ identity

@main.command()
@click.option("--url", "login_url", required=True, help="Cairn's address, e.g. https://cairn.example.com")
@click.option("--token", "login_token", help="An API token (Settings → API tokens).")
@click.option("--email", help="Sign in with email and password to mint a token instead.")
@click.option("--password", help="Password for --email (or CAIRN_PASSWORD).", envvar="CAIRN_PASSWORD")
@click.option("--team", help="The team the minted token acts in (default: your first team).")
@click.option("--expires-in-days", type=int, default=30, show_default=True)
@json_option
def login(login_url: str, login_token: Optional[str], email: Optional[str], password: Optional[str], team: Optional[str],
          expires_in_days: int, as_json: bool) -> None:
    """Store Cairn's URL and a token in the config file (0600). Env vars CAIRN_URL/CAIRN_TOKEN still override it."""
    if not login_token:
        if not (email and password):
            raise click.UsageError("Give --token, or --email and --password to mint one.")
        if not team:
            raise click.UsageError("Give --team: the team the new token acts in.")
        login_token = str(mint_token(login_url, email, password, team, name="cairn-cli", expires_in_days=expires_in_days)["token"])
    me = Cairn(url=login_url, token=login_token).me()
    path = save_config(login_url.rstrip("/"), login_token)
    result = {"url": login_url.rstrip("/"), "user": me["user"]["email"], "teams": [t["slug"] for t in me.get("teams", [])], "config": str(path)}
    if as_json:
        emit(result, True)
    else:
        out.print(f"Logged in to {result['url']} as {result['user']} (teams: {', '.join(result['teams']) or 'none'}); saved to {path}", highlight=False)


@main.command()
@json_option
@click.pass_context
def whoami(ctx: click.Context, as_json: bool) -> None:
    """Who the token acts as, and in which teams."""
    me = client(ctx).me()
    if as_json:
        emit(me, True)
        return
    user = me["user"]
    out.print(f"{user['email']} ({user.get('name') or ''}){' · platform admin' if user.get('is_admin') else ''} at {client(ctx).url}", highlight=False)
    emit(me.get("teams", []), False, [col("slug", "team"), col("name"), col("role")])


# ------------------------------------------------------------------------------------------------ experiments & runs

EXPERIMENT_COLS = [col("experiment_id", "id"), col("name"), col("team"), col("run_count", "runs"),
                   ("last activity", lambda r: _ms(r.get("last_activity_at")))]


def _ms(value: Any) -> str:
    if not value:
        return ""
    return _dt.datetime.fromtimestamp(int(value) / 1000, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _take(items: Iterable[Any], limit: Optional[int]) -> List[Any]:
    result: List[Any] = []
    for item in items:
        if limit is not None and len(result) >= limit:
            break
        result.append(item)
    return result


@main.group(invoke_without_command=True)
@click.option("--team")
@click.option("-q", "query", help="Filter by name.")
@click.option("--limit", type=int, help="At most this many.")
@json_option
@click.pass_context
def experiments(ctx: click.Context, team: Optional[str], query: Optional[str], limit: Optional[int], as_json: bool) -> None:
    """List experiments (or `experiments create NAME`)."""
    if ctx.invoked_subcommand:
        return
    rows = [e.data for e in _take(client(ctx).experiments.list(team=team, q=query), limit)]
    emit(rows, as_json, EXPERIMENT_COLS)


@experiments.command("create")
@click.argument("name")
@click.option("--team")
@click.option("--description")
@json_option
@click.pass_context
def experiments_create(ctx: click.Context, name: str, team: Optional[str], description: Optional[str], as_json: bool) -> None:
    """Create an experiment."""
    emit(client(ctx).experiments.create(name, team=team, description=description).data, as_json)


@main.group()
def runs() -> None:
    """Runs of an experiment: `runs ls EXPERIMENT_ID --filter "metrics.auc > 0.8"`, `runs show RUN_ID`."""


@runs.command("ls")
@click.argument("experiment_id")
@click.option("--filter", "filter_", help="Search grammar, e.g. \"metrics.auc > 0.8 and params.lr = '0.1'\".")
@click.option("--order-by", help="e.g. \"metrics.auc DESC\".")
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@click.pass_context
def runs_ls(ctx: click.Context, experiment_id: str, filter_: Optional[str], order_by: Optional[str], limit: int, as_json: bool) -> None:
    """List an experiment's runs."""
    rows = _take(client(ctx).experiments.get(experiment_id).runs(filter_, order_by=order_by), limit)
    metric_keys = sorted({k for r in rows for k in (r.get("metrics") or {})})[:6]
    emit(rows, as_json, [col("run_id", "run"), col("run_name", "name"), col("status"), ("started", lambda r: _ms(r.get("start_time")))]
         + [_metric_col(k) for k in metric_keys])


def _metric_col(key: str) -> Column:
    return (key, lambda r: _metric(r, key))


def _metric(row: Dict[str, Any], key: str) -> Any:
    v = (row.get("metrics") or {}).get(key)
    return v.get("value") if isinstance(v, dict) else v


@runs.command("show")
@click.argument("run_id")
@json_option
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """A run with its params, metrics and tags."""
    emit(client(ctx).run(run_id), as_json)


# ------------------------------------------------------------------------------------------------ jobs

JOB_COLS = [col("job_id", "id"), col("name"), col("status"), col("user"), ("instance", lambda r: (r.get("resources") or {}).get("instance_type")),
            ("cost", lambda r: f"${r.get('cost_so_far', 0):.4f}"), col("queued_at", "queued"), col("message")]


@main.group()
def jobs() -> None:
    """Training jobs: submit, ls, logs -f, cancel, retry."""


def _env_pairs(values: Sequence[str]) -> Dict[str, str]:
    result = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--env")
        result[key] = value
    return result


@jobs.command("submit")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--experiment", "-e", required=True, help="Experiment id or name (a name is created when missing).")
@click.option("--script", help="The script to run, e.g. train.py (default: the folder's cairn.json command).")
@click.option("--requirements", help="A pip requirements file in PATH, installed before the script.")
@click.option("--source", help="Run a built-in example (e.g. examples/churn) instead of packing PATH.")
@click.option("--instance-type", "-i", default="cpu.small", show_default=True, help="cpu.small, cpu.large, gpu.small, gpu.large …")
@click.option("--gpus", type=int)
@click.option("--env", multiple=True, help="KEY=VALUE, repeatable.")
@click.option("--max-runtime", type=int, help="Seconds.")
@click.option("--priority", type=click.Choice(["low", "normal", "high"]))
@click.option("--retries", type=int)
@click.option("--team")
@click.option("--follow", "-f", is_flag=True, help="Stream the log until the job ends; exit non-zero if it fails.")
@json_option
@click.pass_context
def jobs_submit(ctx: click.Context, path: str, experiment: str, script: Optional[str], requirements: Optional[str], source: Optional[str],
                instance_type: Optional[str], gpus: Optional[int], env: Sequence[str], max_runtime: Optional[int],
                priority: Optional[str], retries: Optional[int], team: Optional[str], follow: bool, as_json: bool) -> None:
    """Pack PATH (respecting .gitignore), upload it and launch a training job."""
    c = client(ctx)
    exp = c.experiments.get(experiment) if experiment.isdigit() else c.experiments.get_or_create(experiment, team=team)
    job = exp.train(script, path=path, requirements=requirements, source=source, instance_type=instance_type, gpus=gpus,
                    env=_env_pairs(env) or None, max_runtime=max_runtime, priority=priority, retries=retries)
    if not as_json:
        err.print(f"Submitted job {job.id} (run {job.run_id}) — {job.status}", highlight=False)
    if follow:
        job.wait(log=not as_json)
    emit(job.data, as_json) if as_json else out.print(f"{job.id} {job.status}", highlight=False)


@jobs.command("ls")
@click.option("--team")
@click.option("--status", type=click.Choice(["queued", "admitted", "running", "succeeded", "failed", "cancelled"]))
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@click.pass_context
def jobs_ls(ctx: click.Context, team: Optional[str], status: Optional[str], limit: int, as_json: bool) -> None:
    """List jobs, newest first."""
    emit([j.data for j in _take(client(ctx).jobs.list(team=team, status=status), limit)], as_json, JOB_COLS)


@jobs.command("show")
@click.argument("job_id")
@json_option
@click.pass_context
def jobs_show(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """One job."""
    emit(client(ctx).jobs.get(job_id).data, as_json)


@jobs.command("logs")
@click.argument("job_id")
@click.option("--follow", "-f", is_flag=True, help="Stream until the job ends (resumes after a dropped connection).")
@click.pass_context
def jobs_logs(ctx: click.Context, job_id: str, follow: bool) -> None:
    """Print a job's log."""
    job = client(ctx).jobs.get(job_id)
    if not follow:
        click.echo(job.logs(), nl=False)
        return
    job.wait(log=sys.stdout)


@jobs.command("cancel")
@click.argument("job_id")
@json_option
@click.pass_context
def jobs_cancel(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Cancel a queued or running job."""
    job = client(ctx).jobs.get(job_id).cancel()
    emit(job.data, True) if as_json else out.print(f"{job.id} {job.status}", highlight=False)


@jobs.command("retry")
@click.argument("job_id")
@json_option
@click.pass_context
def jobs_retry(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """Run a finished job again with the same spec."""
    job = client(ctx).jobs.get(job_id).retry()
    emit(job.data, True) if as_json else out.print(f"{job.id} {job.status}", highlight=False)


# ------------------------------------------------------------------------------------------------ models & deployments

@main.group()
def models() -> None:
    """Registered models: ls, show, register, alias."""


@models.command("ls")
@click.option("--team")
@click.option("-q", "query")
@json_option
@click.pass_context
def models_ls(ctx: click.Context, team: Optional[str], query: Optional[str], as_json: bool) -> None:
    """List registered models."""
    emit([m.data for m in client(ctx).models.list(team=team, q=query)], as_json,
         [col("name"), col("team"), col("latest_version", "latest"), ("aliases", lambda r: ", ".join(f"{k}→{v}" for k, v in (r.get("aliases") or {}).items()))])


@models.command("show")
@click.argument("name")
@click.option("--team")
@json_option
@click.pass_context
def models_show(ctx: click.Context, name: str, team: Optional[str], as_json: bool) -> None:
    """A model's versions and aliases."""
    m = client(ctx).models.get(name, team=team)
    if as_json:
        emit(m.data, True)
        return
    emit(m.versions, False, [col("version"), col("status"), col("format"), col("run_id", "run"), ("aliases", lambda r: ", ".join(r.get("aliases") or [])), col("created_at", "created")],
         title=f"{m.name} ({m.data.get('team')})")


@models.command("register")
@click.argument("name")
@click.option("--run", "run_id", required=True, help="The run whose artifacts hold the model.")
@click.option("--path", default="model", show_default=True, help="The model's folder in the run's artifacts.")
@click.option("--description")
@json_option
@click.pass_context
def models_register(ctx: click.Context, name: str, run_id: str, path: str, description: Optional[str], as_json: bool) -> None:
    """Register a run's model folder as a new version of NAME in the run's team (the model is created if missing)."""
    v = client(ctx).models.register(name, run_id, path, description=description)
    emit(v if as_json else [v], as_json, [col("name"), col("version"), col("status"), col("source"), col("run_id", "run")])


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", is_flag=True, help="Remove the alias.")
@click.option("--team")
@json_option
@click.pass_context
def models_alias(ctx: click.Context, name: str, alias: str, version: Optional[str], delete: bool, team: Optional[str], as_json: bool) -> None:
    """Point ALIAS at VERSION (or --delete it)."""
    m = client(ctx).models.get(name, team=team)
    if delete:
        m = m.delete_alias(alias)
    elif version is None:
        raise click.UsageError("Give the VERSION the alias points at, or --delete.")
    else:
        m = m.set_alias(alias, version)
    emit(m.aliases, as_json, title=f"{m.name} aliases")


DEPLOYMENT_COLS = [col("deployment_id", "id"), col("model"), col("version"), col("environment"), col("status"),
                   ("replicas", lambda r: f"{r.get('ready_replicas', '?')}/{r.get('replicas')}"), col("stable_endpoint", "stable endpoint")]


@main.command()
@click.argument("model")
@click.option("--version", type=int)
@click.option("--alias")
@click.option("--environment", "--env", type=click.Choice(["staging", "production"]), default="staging", show_default=True)
@click.option("--replicas", type=int)
@click.option("--auto-scale/--no-auto-scale", default=None)
@click.option("--min-replicas", type=int)
@click.option("--max-replicas", type=int)
@click.option("--team")
@json_option
@click.pass_context
def deploy(ctx: click.Context, model: str, version: Optional[int], alias: Optional[str], environment: str, replicas: Optional[int],
           auto_scale: Optional[bool], min_replicas: Optional[int], max_replicas: Optional[int], team: Optional[str], as_json: bool) -> None:
    """Deploy a model version; production opens an approval request."""
    result = client(ctx).deploy(model, version=version, alias=alias, environment=environment, replicas=replicas, auto_scale=auto_scale,
                                min_replicas=min_replicas, max_replicas=max_replicas, team=team)
    if as_json:
        emit(result.data, True)
    elif environment == "production":
        out.print(f"Approval request {result.id} is {result.data.get('status')}: a team lead approves it with `cairn approvals approve {result.id}`.", highlight=False)
    else:
        out.print(f"Deployment {result.id} {result.data.get('status')} — endpoint {getattr(result, 'stable_endpoint', '')}", highlight=False)


@main.group()
def deployments() -> None:
    """Deployments: ls, show, predict, stop, rollback."""


@deployments.command("ls")
@click.option("--team")
@click.option("--environment", type=click.Choice(["staging", "production"]))
@json_option
@click.pass_context
def deployments_ls(ctx: click.Context, team: Optional[str], environment: Optional[str], as_json: bool) -> None:
    """List deployments."""
    rows = []
    for d in client(ctx).deployments.list(team=team, environment=environment):
        row = dict(d.data)
        row["stable_endpoint"] = d.stable_endpoint
        rows.append(row)
    emit(rows, as_json, DEPLOYMENT_COLS)


@deployments.command("show")
@click.argument("deployment_id")
@json_option
@click.pass_context
def deployments_show(ctx: click.Context, deployment_id: str, as_json: bool) -> None:
    """One deployment."""
    emit(client(ctx).deployments.get(deployment_id).data, as_json)


@deployments.command("predict")
@click.argument("deployment_id")
@click.option("--data", "-d", "data", required=True, help="JSON rows (a list of rows, or an {inputs|dataframe_split: …} body); @FILE reads a file, - reads stdin.")
@json_option
@click.pass_context
def deployments_predict(ctx: click.Context, deployment_id: str, data: str, as_json: bool) -> None:
    """Send rows to a deployment and print its predictions."""
    text = sys.stdin.read() if data == "-" else (open(data[1:]).read() if data.startswith("@") else data)
    try:
        payload = json.loads(text)
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="--data") from e
    emit(client(ctx).deployments.get(deployment_id).predict(payload), True)


@deployments.command("stop")
@click.argument("deployment_id")
@click.pass_context
def deployments_stop(ctx: click.Context, deployment_id: str) -> None:
    """Stop a deployment."""
    client(ctx).deployments.get(deployment_id).stop()
    out.print(f"Deployment {deployment_id} stopped", highlight=False)


@deployments.command("rollback")
@click.argument("deployment_id")
@json_option
@click.pass_context
def deployments_rollback(ctx: click.Context, deployment_id: str, as_json: bool) -> None:
    """Roll a deployment back to the version it replaced."""
    emit(client(ctx).deployments.get(deployment_id).rollback().data, as_json)


# ------------------------------------------------------------------------------------------------ approvals, quota, costs

APPROVAL_COLS = [col("id"), col("status"), col("team"), col("model"), col("version"), col("environment"), col("requested_by", "requested by"),
                 col("created_at", "created")]


@main.group()
def approvals() -> None:
    """Production deploy requests: ls, approve, reject."""


@approvals.command("ls")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "expired", "cancelled"]))
@json_option
@click.pass_context
def approvals_ls(ctx: click.Context, status: Optional[str], as_json: bool) -> None:
    """List approval requests."""
    emit([a.data for a in client(ctx).approvals.list(status=status)], as_json, APPROVAL_COLS)


@approvals.command("approve")
@click.argument("approval_id")
@click.option("--comment", default="", help="Why (kept in the audit log).")
@json_option
@click.pass_context
def approvals_approve(ctx: click.Context, approval_id: str, comment: str, as_json: bool) -> None:
    """Approve a pending production deploy."""
    a = client(ctx).approvals.approve(approval_id, comment)
    emit(a.data, True) if as_json else out.print(f"Approval request {a.id} {a.status}", highlight=False)


@approvals.command("reject")
@click.argument("approval_id")
@click.option("--reason", required=True, help="Why (shown to the requester).")
@json_option
@click.pass_context
def approvals_reject(ctx: click.Context, approval_id: str, reason: str, as_json: bool) -> None:
    """Reject a pending production deploy."""
    a = client(ctx).approvals.reject(approval_id, reason)
    emit(a.data, True) if as_json else out.print(f"Approval request {a.id} {a.status}", highlight=False)


@main.command()
@click.option("--team", help="Default: the token's team.")
@json_option
@click.pass_context
def quota(ctx: click.Context, team: Optional[str], as_json: bool) -> None:
    """A team's quota and what it uses now."""
    usage = client(ctx).usage(team)
    if as_json:
        emit(usage, True)
        return
    q, used = usage.get("quota") or {}, usage.get("used") or {}
    rows = [{"resource": k, "used": used.get(k), "quota": q.get(k)} for k in q if not isinstance(q.get(k), dict) and k != "limit_range"]
    emit(rows, False, [col("resource"), col("used"), col("quota")], title=f"Quota of {usage.get('team', team)}")
    if usage.get("queued_jobs"):
        out.print(f"{len(usage['queued_jobs'])} job(s) queued", highlight=False)


@main.command()
@click.option("--window", default="30d", show_default=True)
@click.option("--aggregate", default="team", show_default=True, type=click.Choice(["team", "user", "resource", "kind", "run", "deployment"]))
@click.option("--step")
@click.option("--team")
@json_option
@click.pass_context
def costs(ctx: click.Context, window: str, aggregate: str, step: Optional[str], team: Optional[str], as_json: bool) -> None:
    """Costs over a window, totalled by team, user, resource, …"""
    answer = client(ctx).costs(window, aggregate, step=step, team=team, as_frame=False)
    if as_json:
        emit(answer, True)
        return
    emit(answer.get("totals", []), False, [col("key", aggregate), ("amount", lambda r: f"{r.get('amount', 0):,.2f} {answer.get('currency', 'USD')}")],
         title=f"Costs over {answer.get('window')}")


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(cairn completion bash)"."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(main, {}, "cairn", "_CAIRN_COMPLETE").source())


if __name__ == "__main__":  # pragma: no cover
    main()
