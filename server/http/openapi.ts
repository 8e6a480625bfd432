// The OpenAPI document of /api/v1, built from the same zod schemas the handlers validate with.
import { z } from "zod";
import { browseRunsQuery, createExperimentBody, listExperimentsQuery, previewQuery } from "@/lib/schemas/experiments";
import { chartHistoryQuery, chartImportanceQuery, chartRunsQuery } from "@/lib/schemas/charts";
import { alertRulesQuery, alertsQuery, createAlertRuleSchema, silenceAlertRuleSchema } from "@/lib/schemas/alerts";
import { auditQuerySchema } from "@/lib/schemas/audit";
import { listCodeArchivesQuery, uploadCodeArchiveQuery } from "@/lib/schemas/code-archives";
import { allocationQuery, budgetExtensionSchema, costsQuery, resourcePriceSchema } from "@/lib/schemas/costs";
import { platformHealthQuery, platformHealthSchema } from "@/lib/schemas/platform";
import { approvalsQuery, decideApprovalSchema, deployModelSchema, deploymentMetricsQuery, deploymentMetricsSchema, deploymentResourcesSchema, listDeploymentsQuery, scaleDeploymentSchema } from "@/lib/schemas/deployments";
import { listModelsQuery, modelTeamQuery, registerRunBody } from "@/lib/schemas/registry";
import { instanceTypeSchema } from "@/lib/schemas/instance-types";
import { jobEventsQuery, jobResourcesSchema, jobResponseSchema, listJobsQuery, logsQuery, trainJobSchema } from "@/lib/schemas/jobs";
import { createSweepSchema, registerBestSchema, sweepCapabilitiesSchema, sweepSchema } from "@/lib/schemas/sweeps";
import { addMemberSchema, changeRoleSchema, createTeamSchema, quotaSchema, updateTeamSchema } from "@/lib/schemas/teams";
import { createTokenSchema } from "@/lib/schemas/tokens";
import { feedbackSchema, startSplitSchema } from "@/lib/schemas/splits";
import { driftQuery, samplingSchema } from "@/lib/schemas/drift";

type Operation = {
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** `type`: the answer's media type when it is not JSON (a 204 has none); `schema`: the JSON answer's shape, where one is declared. */
  success: { status: number; description: string; type?: string; schema?: z.ZodType };
  public?: boolean;
};

const OPERATIONS: Record<string, Record<string, Operation>> = {
  "/api/v1/me": { get: { summary: "The caller, their teams and roles", success: { status: 200, description: "{user, teams}" } } },
  "/api/v1/tokens": {
    get: { summary: "The caller's API tokens (no secrets)", success: { status: 200, description: "{tokens}" } },
    post: { summary: "Mint an API token (signed-in session only); the secret is shown once", body: createTokenSchema, success: { status: 201, description: "{id, token, prefix, team, expires_at}" } },
  },
  "/api/v1/tokens/{id}": { delete: { summary: "Revoke a token", success: { status: 204, description: "revoked" } } },
  "/api/v1/teams": {
    get: { summary: "Teams the caller may see", success: { status: 200, description: "{teams}" } },
    post: { summary: "Create a team (platform admins)", body: createTeamSchema, success: { status: 201, description: "team" } },
  },
  "/api/v1/teams/{slug}": {
    get: { summary: "A team with members, quota and its budget this month (spend, forecast_month_end_usd, thresholds, lines, extensions, step, message)", success: { status: 200, description: "{slug, name, members, quota, budget}" } },
    patch: { summary: "Rename, archive or restore a team (platform admins)", body: updateTeamSchema, success: { status: 200, description: "team" } },
  },
  "/api/v1/teams/{slug}/quota": { put: { summary: "Set the team's quota, per-container limit range, budget thresholds (warn, approval, block as % of the monthly budget; null turns a step off; left out: kept) and budget webhook URL (platform admins)", body: quotaSchema, success: { status: 200, description: "quota" } } },
  "/api/v1/teams/{slug}/budget-extensions": { post: { summary: "Grant a budget extension for this month: raises the team's approval line by amount_usd (team leads of the team and admins; audited)", body: budgetExtensionSchema, success: { status: 201, description: "{id, team, month, amount_usd, reason, granted_by, created_at}" } } },
  "/api/v1/teams/{slug}/usage": { get: { summary: "Used vs. quota (Cairn's accounting and, on Kubernetes, the ResourceQuota's status), top jobs, the queue, the tenant sync's state", success: { status: 200, description: "{quota, used, top, queued_jobs, backend, kubernetes}" } } },
  "/api/v1/teams/{slug}/members": {
    post: {
      summary: "Add a member by email (team leads and admins); an email without an account is invited instead",
      body: addMemberSchema,
      success: { status: 201, description: "membership — or 202 {invitation: {id, email, role, invited_by, created_at, expires_at, expired}, invite_url} for an email without an account: a one-time link (7 days) to send to the person" },
    },
  },
  "/api/v1/teams/{slug}/members/{user_id}": {
    patch: { summary: "Change a member's role (team leads and admins)", body: changeRoleSchema, success: { status: 200, description: "membership" } },
    delete: { summary: "Remove a member; effective on their next request (team leads and admins)", success: { status: 204, description: "removed" } },
  },
  "/api/v1/instance-types": { get: { summary: "The instance-type catalog with hourly prices", success: { status: 200, description: "{instance_types: [{name, cpu, memory_gib, gpu_type, gpu_count, hourly_price_usd}]}" } } },
  "/api/v1/instance-types/{name}": {
    put: { summary: "Add or change an instance type (platform admins); jobs already submitted keep their price", body: instanceTypeSchema, success: { status: 200, description: "the instance type" } },
    delete: { summary: "Remove an instance type (platform admins)", success: { status: 204, description: "removed" } },
  },
  "/api/v1/experiments/{id}/train": { post: { summary: "Launch a training job in the experiment; past the team's budget approval line (non-leads) or block line (everyone) it is refused with 403 budget_exceeded", body: trainJobSchema, success: { status: 202, description: "{job_id, run_id, experiment_id, status, queue_reason?, budget: {step, message, spent_usd, threshold_usd} | null}" } } },
  "/api/v1/experiments/{id}/sweeps": {
    get: { summary: "The experiment's sweeps (newest first), and whether Bayesian search (Optuna) is available on this server and what it needs", success: { status: 200, description: "{sweeps: [{sweep_id, name, state, algorithm, objective, max_trials, trials, created_at}], bayesian: {available, message}}", schema: z.object({ sweeps: z.array(z.looseObject({ sweep_id: z.string() })) }).extend(sweepCapabilitiesSchema.shape) } },
    post: { summary: "Start a hyperparameter sweep: a search space over the job's params (uniform, log_uniform, int, categorical, fixed), an objective, grid / random / bayesian (Optuna TPE), a trial budget, parallelism and early stopping (median rule). Each trial is a job (queued under the team's quota) whose run is a child of the sweep's parent run, given its params as --<name>=<value>", body: createSweepSchema, success: { status: 201, description: "the sweep", schema: sweepSchema } },
  },
  "/api/v1/sweeps/{id}": { get: { summary: "A sweep with its trials (params, state, objective), counts by state, why waiting trials wait, and the best trial", success: { status: 200, description: "the sweep", schema: sweepSchema } } },
  "/api/v1/sweeps/{id}/pause": { post: { summary: "Pause a running sweep: no new trials (running ones go on); its user or a team lead", success: { status: 200, description: "the sweep", schema: sweepSchema } } },
  "/api/v1/sweeps/{id}/resume": { post: { summary: "Resume a paused sweep", success: { status: 200, description: "the sweep", schema: sweepSchema } } },
  "/api/v1/sweeps/{id}/stop": { post: { summary: "Stop a sweep: its waiting and running trials are cancelled through the jobs' cancel, then it is stopped", success: { status: 200, description: "the sweep (stopping)", schema: sweepSchema } } },
  "/api/v1/sweeps/{id}/register-best": { post: { summary: "Register the best trial's model (its run's `path`, default model) as a new version of `name`", body: registerBestSchema, success: { status: 201, description: "{trial, version}" } } },
  "/api/v1/openapi.json": { get: { summary: "This document (public)", success: { status: 200, description: "the OpenAPI 3.1 document" } } },
  "/api/v1/experiments": {
    get: { summary: "Experiments of the caller's teams", query: listExperimentsQuery, success: { status: 200, description: "{experiments: [{experiment_id, name, team, run_count, last_activity_at, …}], next_page_token}" } },
    post: { summary: "Create an experiment in one of the caller's teams", body: createExperimentBody, success: { status: 201, description: "{experiment_id, name, team, created_at}" } },
  },
  "/api/v1/experiments/{id}": { get: { summary: "An experiment with run_count and last_activity_at", success: { status: 200, description: "experiment" } } },
  "/api/v1/experiments/{id}/runs": { get: { summary: "A page of runs as flat rows (params, latest metrics, tags by key), with MLflow's filter grammar and sort", query: browseRunsQuery, success: { status: 200, description: "{runs, total, total_capped, offset, next_page_token}: total is exact without a filter; with one it counts up to 10,000 matching runs and total_capped is true when there are more" } } },
  "/api/v1/experiments/{id}/charts/runs": { get: { summary: "Every run of the filter (MLflow's grammar; the newest 10,000, `truncated` says when there are more) with the values of `keys` (comma-separated params.<k>, metrics.<k> — latest value — or attributes.run_name|status|user_id|start_time|end_time|duration), one array per key aligned with `runs`", query: chartRunsQuery, success: { status: 200, description: "{total, truncated, runs: [{run_id, run_name, status, parent_run_id}], values: {<key>: [value|null, …]}}" } } },
  "/api/v1/experiments/{id}/charts/history": { get: { summary: "One metric's history for every run of the filter in one answer: runs with few points as logged, longer ones downsampled from the rollups (each bucket's first, last, min and max kept; every k-th logged point besides where a run spans too few buckets) to points_per_run, which shrinks as runs grow (200,000 points in all)", query: chartHistoryQuery, success: { status: 200, description: "{metric, points_per_run, runs: [{run_id, total_points, sampled, steps, values}]}" } } },
  "/api/v1/experiments/{id}/charts/importance": { get: { summary: "Importance of the params (default: all the experiment's, at most 50) for the objective metric over the runs of the filter: scikit-learn's RandomForestRegressor (impurity-based), fitted in CAIRN_OPTUNA_PYTHON; where scikit-learn is missing, available=false and message says what to install", query: chartImportanceQuery, success: { status: 200, description: "{objective, available, message, method, runs_used, importances: [{param, importance, kind}]}" } } },
  "/api/v1/runs/{id}": { get: { summary: "A run with params, latest metrics, tags and its artifacts root", success: { status: 200, description: "run" } } },
  "/api/v1/runs/{id}/register": { post: { summary: "Register the run's model folder (path, default \"model\") as a new version of model `name`, created in the run's team when missing; another team's run answers 404 and nothing is written", body: registerRunBody, success: { status: 201, description: "{name, version, team, source (runs:/<run>/<path>), run_id, status, format, content_digest, description, created_at}" } } },
  "/api/v1/runs/{id}/artifacts/preview": { get: { summary: "A size-capped preview of one artifact file, for the artifact browser", query: previewQuery, success: { status: 200, description: "{kind, path, size, text, truncated} (text and binary), or the image itself" } } },
  "/api/v1/jobs/events": { get: { summary: "Job status changes as text/event-stream (team, job narrow it)", query: jobEventsQuery, success: { status: 200, description: "text/event-stream of {job_id, status, attempt, message}", type: "text/event-stream" } } },
  "/api/v1/jobs/{id}/logs": { get: { summary: "The job's output as text; follow=true streams it as text/event-stream, resuming from the byte offset in Last-Event-ID after a reconnect", query: logsQuery, success: { status: 200, description: "text/plain, or text/event-stream with follow=true", type: "text/plain" } } },
  "/api/v1/jobs/{id}/code": { get: { summary: "The job's code snapshot as a .tar.gz (what its pod unpacks into /workspace)", success: { status: 200, description: "the archive", type: "application/gzip" } } },
  "/api/v1/jobs": { get: { summary: "Jobs of the caller's teams, newest first", query: listJobsQuery, success: { status: 200, description: "{jobs, next_page_token}" } } },
  "/api/v1/jobs/{id}": { get: { summary: "One job; a failed one carries `failure`, its cause as read from its log and exit (exception, out of memory, missing module or file, timeout…) with the log line it came from", success: { status: 200, description: "job, with its events", schema: jobResponseSchema } } },
  "/api/v1/jobs/{id}/resources": { get: { summary: "The job's CPU (cores) and memory (bytes) sampled every few seconds while it ran — from its processes on the local executor, from metrics.k8s.io on Kubernetes when the cluster serves it — with the CPU and memory it asked for", success: { status: 200, description: "{samples, limits, source, message, total_samples}", schema: jobResourcesSchema } } },
  "/api/v1/jobs/{id}/cancel": { post: { summary: "Cancel a queued or running job (its user or a team lead)", success: { status: 200, description: "job" } } },
  "/api/v1/jobs/{id}/kubernetes": { get: { summary: "On the kubernetes backend: the job's pods and the Kubernetes events about them and its Jobs, read from the API now", success: { status: 200, description: "{backend: \"kubernetes\", namespace, job, pods: [{name, phase, node, ready, restarts, started_at, reason, message}], events: [{at, type, reason, object, message, count}], error} or {backend: \"local\"}" } } },
  "/api/v1/jobs/{id}/retry": { post: { summary: "Run a finished job again with the same spec, as a new job", success: { status: 202, description: "the new job" } } },
  "/api/v1/audit": { get: { summary: "Audit events, newest first", query: auditQuerySchema, success: { status: 200, description: "{events, next_page_token}" } } },
  "/api/v1/models": { get: { summary: "Registered models of the caller's teams", query: listModelsQuery, success: { status: 200, description: "{models: [{name, team, latest_version, aliases}]}" } } },
  "/api/v1/models/{name}": {
    get: { summary: "A registered model: versions (format, aliases, source run), aliases and their history", query: modelTeamQuery, success: { status: 200, description: "{name, team, description, aliases, versions, deployed, endpoints: [{environment, endpoint, deployment_id, version}] (the stable /serve/<team>/<model>/<environment> address and what it reaches now), alias_history}" } },
  },
  "/api/v1/models/{name}/deploy": {
    post: { summary: "Deploy a version (version, alias, or the newest) — staging: 201 {deployment_id, endpoint, stable_endpoint, status}; production: 202 {approval_request_id, status: \"pending_approval\"}, a team lead decides; both carry the team's budget note (null under every line), and past the budget's approval line (non-leads) or block line (everyone) the deploy is refused with 403 budget_exceeded", body: deployModelSchema, success: { status: 201, description: "{deployment_id, endpoint, stable_endpoint, status, budget} (staging) or 202 {approval_request_id, status, budget} (production)" } },
  },
  "/api/v1/deployments": { get: { summary: "Deployments of the caller's teams, newest first", query: listDeploymentsQuery, success: { status: 200, description: "{deployments}" } } },
  "/api/v1/deployments/{id}": {
    get: { summary: "One deployment", success: { status: 200, description: "{deployment_id, team, model, version, environment, status, replicas, ready_replicas, endpoint (/serve/<team>/<deployment_id>, pinned), stable_endpoint (/serve/<team>/<model>/<environment>, whichever deployment serves it now), …}" } },
    patch: { summary: "How a live deployment scales: auto_scale, replicas, min_replicas, max_replicas, target_concurrency (the autoscaler carries it out within a tick)", body: scaleDeploymentSchema, success: { status: 200, description: "the deployment" } },
    delete: { summary: "Stop a deployment: its replicas end, the record stays (status stopped)", success: { status: 204, description: "stopped" } },
  },
  "/api/v1/deployments/{id}/kubernetes": { get: { summary: "On Kubernetes: the deployment's rollout (desired, updated, available, failure, HPA state), pods and events, read from the API now", success: { status: 200, description: "{backend: \"kubernetes\", namespace, name, rollout, pods, events, error} or {backend: \"local\"}" } } },
  "/api/v1/deployments/{id}/resources": { get: { summary: "The CPU (cores) and memory (bytes) of the deployment's replicas together, sampled every CAIRN_SERVING_SAMPLE_INTERVAL_MS while they served — from the replica processes on the local backend, from metrics.k8s.io (or Prometheus) on Kubernetes — with what they request (replicas × the replica instance type, as the cost meter charges). Another team: 404", success: { status: 200, description: "{samples: [{at, cpu_cores, memory_bytes, replicas}], limits, source, message, total_samples}", schema: deploymentResourcesSchema } } },
  "/api/v1/deployments/{id}/model": { get: { summary: "The pinned model file, for the init container of the deployment's pods on Kubernetes (Bearer: the deployment's download token from the Secret beside its Deployment; anything else 404)", success: { status: 200, description: "the model bytes (x-cairn-sha256 names their hash)", type: "application/octet-stream" } } },
  "/api/v1/cluster": { get: { summary: "Platform admins, kubernetes backend: nodes (GPU type, requested vs. allocatable) and each team's ResourceQuota status, read from the API now", success: { status: 200, description: "{backend: \"kubernetes\", server, nodes, quotas, error} or {backend: \"local\"}" } } },
  "/api/v1/platform/health": { get: { summary: "Platform admins: the API's request rate, latency p50/p95/p99 and 5xx share over a window (5m–30d) with its busiest endpoints (route patterns, never raw ids), the job queue (depth, oldest wait, waits of started jobs), active users, storage by team and type, GPUs by team, and GPU use by team and node now (`gpus.nodes`, each with `source`: measured by NVIDIA's DCGM exporter via PROMETHEUS_URL on Kubernetes, else allocated) — from Prometheus when one is configured and answers, else from Cairn's own per-minute rollups (kept 30 days); `source` says which. 403 for everyone else", query: platformHealthQuery, success: { status: 200, description: "{window, step_seconds, source, notice, api, queue, active_users, storage, gpus}", schema: platformHealthSchema } } },
  "/api/v1/deployments/{id}/rollback": { post: { summary: "Serve the model's previous version in this environment again (a new deployment; this one stops once it serves; production's protected alias moves back)", success: { status: 200, description: "the new deployment" } } },
  "/api/v1/deployments/{id}/metrics": { get: { summary: "Requests per second, latency p50/p95/p99 (ms) and error share over a window (5m–30d): from Prometheus when one is configured and answers, else from Cairn's own per-minute rollups (kept 30 days); `source` says which", query: deploymentMetricsQuery, success: { status: 200, description: "{window, step_seconds, source, notice, series: {requests_per_second, latency_p50_ms, latency_p95_ms, latency_p99_ms, error_rate}}", schema: deploymentMetricsSchema } } },
  "/api/v1/deployments/{id}/drift": { get: { summary: "Drift monitoring: per feature of the version's training reference and for the prediction, per window (CAIRN_DRIFT_WINDOW_MINUTES) over the last `hours`, PSI against the reference's bins or categories, the chi-square p-value (categories), the share missing and the share invalid (wrong type, outside the profile's range, unseen category); the reference's shares beside the newest window's; where the reference came from (profile, input_example, none), the sample rate and the samples stored", query: driftQuery, success: { status: 200, description: "{deployment_id, sample_rate, window_seconds, reference: {source, rows, note}, samples: {stored, last_at}, features: [{name, kind, latest, series: [{window_start, samples, psi, chi_square_p, missing_share, invalid_share}], distribution: [{label, reference, live}]}], viewer_can: {manage}}" } } },
  "/api/v1/deployments/{id}/sampling": { put: { summary: "Set the share (0–1) of the gateway's answered requests sampled into the inference log for drift monitoring (0 turns it off; those who may change the deployment); columns tagged cairn.sensitive_columns are never stored", body: samplingSchema, success: { status: 200, description: "{sample_rate}" } } },
  "/api/v1/deployments/{id}/split": {
    get: { summary: "The deployment's traffic split (the active one, else its latest; null when it never had one): weight, stickiness, abort thresholds, both variants' requests, rate, p50/p99 latency, error share, labelled count, accuracy and AUC, and its events", success: { status: 200, description: "{split: {split_id, status, weight, sticky, abort, baseline, candidate, events, viewer_can, …} | null, pending_requests: [{id, version, weight, requested_by}]}" } },
    post: { summary: "Start a traffic split on the model's stable address: this deployment stays the baseline, another version of the same model becomes the candidate at `weight` percent (1–99), sticky by X-Cairn-Split-Key when asked, aborted automatically past the thresholds. Staging starts at once; production asks a team lead (the split is in the request's spec and evidence). 400 bad input, 409 a split already active or a baseline that does not serve", body: startSplitSchema, success: { status: 201, description: "staging: {split}; production (202): {approval_request_id, status: \"pending_approval\"}" } },
  },
  "/api/v1/deployments/{id}/split/promote": { post: { summary: "Promote the active split's candidate: it takes all of the traffic, the baseline stops (its replicas are released), production's protected alias moves to it; 409 without an active split or while the candidate does not serve", success: { status: 200, description: "the ended split" } } },
  "/api/v1/deployments/{id}/split/abort": { post: { summary: "Abort the active split: all traffic back on the baseline, the candidate stops; 409 without an active split", success: { status: 200, description: "the ended split" } } },
  "/api/v1/deployments/{id}/feedback": { post: { summary: "True labels of requests a split served, by the X-Request-Id its answers carried: {request_id, label} or {feedback: [{request_id, label}, …]} (≤ 1000); label a number (class) or boolean. 409 when the deployment never had a split", body: feedbackSchema, success: { status: 200, description: "{split_id, stored, matched}" } } },
  "/api/v1/deployments/{id}/events": { get: { summary: "What happened to a deployment, newest first", success: { status: 200, description: "{events: [{at, status, message}]}" } } },
  "/api/v1/approvals": { get: { summary: "Production deploy requests of the caller's teams, newest first", query: approvalsQuery, success: { status: 200, description: "{approvals: [{id, status, team, model, version, environment, spec, note, requested_by, decided_by, comment, deployment_id, created_at, decided_at, expires_at}]}" } } },
  "/api/v1/approvals/{id}": { get: { summary: "A request with its evidence: candidate vs. current production metrics, source runs, monthly cost change", success: { status: 200, description: "the request plus evidence" } } },
  "/api/v1/approvals/{id}/approve": { post: { summary: "Approve (team leads and admins, never one's own request): the production deployment starts and the protected production alias moves; 409 when no longer pending", body: decideApprovalSchema, success: { status: 200, description: "the decided request" } } },
  "/api/v1/approvals/{id}/reject": { post: { summary: "Reject (team leads and admins); 409 when no longer pending", body: decideApprovalSchema, success: { status: 200, description: "the decided request" } } },
  "/api/v1/approvals/{id}/cancel": { post: { summary: "Withdraw one's own pending request", success: { status: 200, description: "the cancelled request" } } },
  "/api/v1/costs": { get: { summary: "Spend of the caller's teams (admins: all) over a window, by team, user, resource, kind, run or deployment: totals, dense series and, per team, month-to-date spend against its budget with forecast_month_end_usd and the budget step (warn, approval, block)", query: costsQuery, success: { status: 200, description: "{window, step, currency, aggregate, totals: [{key, amount}], series: [{key, points: [[unix_seconds, amount]]}], labels: {key: name} (run and deployment keys' names), budgets}" } } },
  "/api/v1/costs/allocation": { get: { summary: "Cost allocation of the caller's teams (admins: all; ?team= one) from `from` to `to` (ISO dates or date-times; default the last 30 days, at most 400), grouped `by` team, user, experiment, job, run, model, model_version or environment: each group named (never an id; a deleted object keeps its last known name) and split into CPU, memory, GPU (by type) and storage, with training vs serving cost, requested vs used core-, GiB- and GPU-hours (GPU used: the DCGM exporter's utilization, on Kubernetes with PROMETHEUS_URL), efficiency (used ÷ requested, cost-weighted over CPU, memory and measured GPUs) and idle cost where usage was measured (else usage says \"not measured\" and why), predictions and cost per 1,000 predictions. format=csv or Accept: text/csv answers a chargeback CSV (RFC 4180). 400 bad by/from/to; another team 404", query: allocationQuery, success: { status: 200, description: "{by, from, to, currency, rows: [{key, name, teams, total_usd, cpu_usd, memory_usd, gpu_usd, gpu_by_type, storage_usd, unsplit_usd, training_usd, serving_usd, cpu_core_hours, used_cpu_core_hours, memory_gib_hours, used_memory_gib_hours, gpu_hours, used_gpu_hours, storage_gib_hours, cpu_efficiency, memory_efficiency, gpu_efficiency, efficiency, idle_usd, usage, usage_note, predictions, cost_per_1000_predictions_usd}], total}, or text/csv" } } },
  "/api/v1/resource-prices": {
    get: { summary: "Per-kind prices the cost split uses: CPU per core-hour, memory per GiB-hour, GPU per GPU-hour (per GPU type; gpu_type null prices any type without its own row), storage per GiB-month", success: { status: 200, description: "{resource_prices: [{kind, gpu_type, unit, unit_price_usd, updated_at}]}" } },
    put: { summary: "Set one kind's price (admins; audited): the meter splits each job's and replica's hourly price across CPU, memory and GPU in proportion to these prices and charges stored GiB-months at the storage price, for time metered from now on", body: resourcePriceSchema, success: { status: 200, description: "the price" } },
  },
  "/api/v1/alert-rules": {
    get: { summary: "Alert rules of the caller's teams (or ?team=), each with its state (ok, pending, firing), last value and silence; webhook URLs shown as their origin only", query: alertRulesQuery, success: { status: 200, description: "{alert_rules: [{id, team, name, kind, deployment_id, resource, feature, signal, threshold, window_seconds, for_seconds, min_requests, webhook_urls, emails, silenced_until, state, value, last_evaluated_at, active_alert_id, created_by, created_at, viewer_can}]}" } },
    post: { summary: "Store an alert rule (ML engineers and team leads): latency_p99_ms or error_share of a deployment, drift of a deployment (PSI of `feature`, or of any feature and the prediction, above the threshold), canary_regression of a deployment's active split (`signal` error_share: the candidate's error share above the baseline's by more than threshold percentage points; latency_p99_ms: its p99 by more than threshold ms), job_failures, budget_share or quota_saturation (with resource), a threshold, window, for duration, and webhook URLs and email addresses to notify", body: createAlertRuleSchema, success: { status: 201, description: "the rule" } },
  },
  "/api/v1/alert-rules/prometheus": { get: { summary: "The team's serving rules (latency_p99_ms, error_share) as a Prometheus rule file, for rule_files:", query: alertRulesQuery, success: { status: 200, description: "a rule file (JSON, which is YAML)", type: "application/yaml" } } },
  "/api/v1/alert-rules/{id}": {
    get: { summary: "One alert rule with its state", success: { status: 200, description: "the rule" } },
    delete: { summary: "Remove an alert rule with its alerts and history (ML engineers and team leads)", success: { status: 204, description: "removed" } },
  },
  "/api/v1/alert-rules/{id}/silence": { post: { summary: "Mute a rule's notifications until a time, or lift the silence with until: null (ML engineers and team leads); the rule is still evaluated", body: silenceAlertRuleSchema, success: { status: 200, description: "the rule" } } },
  "/api/v1/alerts": { get: { summary: "Alerts of the caller's teams (or ?team=), firing first, and the latest state changes (history: when, state, value, threshold)", query: alertsQuery, success: { status: 200, description: "{alerts: [{id, rule_id, rule_name, kind, team, state, value, threshold, started_at, fired_at, resolved_at, acknowledged_at, acknowledged_by, viewer_can}], history: [{alert_id, rule_id, rule_name, at, state, value, threshold}]}" } } },
  "/api/v1/alerts/{id}/acknowledge": { post: { summary: "Acknowledge a firing alert (ML engineers and team leads): no more repeat notifications for this firing; 409 unless firing", success: { status: 200, description: "the alert" } } },
  "/api/v1/code-archives": {
    get: { summary: "Uploaded code archives of the caller's teams, newest first", query: listCodeArchivesQuery, success: { status: 200, description: "{code_archives}" } },
    post: {
      summary: "Upload training code: a zip or .tar.gz as the raw body (Content-Type application/zip, application/gzip, application/x-gzip or application/octet-stream) or as the multipart/form-data field \"file\"; checked in full (streaming, stopped at CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB unpacked) before it is kept; counts against the team's storage quota (409 quota_exceeded)",
      query: uploadCodeArchiveQuery,
      success: { status: 201, description: "{id, team, filename, format, size_bytes, sha256, files, default_command, created_by, created_at}" },
    },
  },
  "/api/v1/code-archives/{id}": {
    get: { summary: "One code archive", success: { status: 200, description: "{id, team, filename, format, size_bytes, sha256, files, default_command, created_by, created_at}" } },
    delete: {
      summary: "Delete a code archive and its file (its uploader, team leads, admins); 409 while a queued, admitted or running job has it as its source. Runs keep their code snapshot",
      success: { status: 204, description: "deleted" },
    },
  },
  "/api/v1/audit/verify": { get: { summary: "Verify the audit hash chain", success: { status: 200, description: "{ok, checked, first_broken_id, scope, anchor, problem}" } } },
};

const ERROR = {
  description: "Error",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
};

function queryParameters(schema: z.ZodType) {
  const json = z.toJSONSchema(schema, { io: "input" }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: "query", required: json.required?.includes(name) ?? false, schema: s }));
}

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(OPERATIONS)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(ops)) {
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
      paths[path][method] = {
        summary: op.summary,
        parameters: [...params, ...(op.query ? queryParameters(op.query) : [])],
        ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: z.toJSONSchema(op.body, { io: "input" }) } } } } : {}),
        responses: {
          [op.success.status]: {
            description: op.success.description,
            ...(op.success.status === 204 ? {} : { content: { [op.success.type ?? "application/json"]: { schema: op.success.schema ? z.toJSONSchema(op.success.schema, { io: "output" }) : op.success.type && !op.success.type.includes("json") ? { type: "string" } : {} } } }),
          },
          400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR,
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "Cairn platform API", version },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "API token from Settings → API tokens" },
        session: { type: "apiKey", in: "cookie", name: "next-auth.session-token" },
      },
      schemas: {
        Error: {
          type: "object",
          properties: {
            error: {
              type: "object",
              required: ["code", "message", "request_id"],
              properties: {
                code: { enum: ["invalid_input", "unauthenticated", "forbidden", "not_found", "conflict", "quota_exceeded", "budget_exceeded", "rate_limited", "upstream_unavailable", "not_implemented", "internal"] },
                message: { type: "string" },
                fields: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
                request_id: { type: "string" },
                trace_id: { type: "string", description: "The OpenTelemetry trace of the request (32 hex digits), when the server exports traces (OTEL_EXPORTER_OTLP_ENDPOINT); also in the x-trace-id header" },
              },
            },
          },
        },
      },
    },
    paths,
  };
}
