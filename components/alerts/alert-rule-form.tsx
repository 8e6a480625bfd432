"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { FormError, SelectField, TextField } from "@/components/ui/field";
import type { ActionResult } from "@/lib/action-result";
import type { AlertKind, CreateAlertRuleInput } from "@/lib/schemas/alerts";
import { ALERT_KINDS, CANARY_SIGNALS, DEPLOYMENT_KINDS, KIND_LABELS, QUOTA_RESOURCES, SERVING_KINDS } from "@/lib/schemas/alerts";

type Props = {
  teams: string[];
  deployments: { id: string; team: string; label: string }[];
  create: (input: CreateAlertRuleInput) => Promise<ActionResult<string>>;
};

const list = (v: FormDataEntryValue | null) => String(v ?? "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
const num = (v: FormDataEntryValue | null) => (String(v ?? "").trim() === "" ? Number.NaN : Number(v));

/** The Alerts page's form: a rule for one of the teams the viewer manages alerts in. */
export function AlertRuleForm({ teams, deployments, create }: Props) {
  const router = useRouter();
  const [kind, setKind] = useState<AlertKind>("job_failures");
  const [team, setTeam] = useState(teams[0] ?? "");
  const [error, setError] = useState<string>();
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [pending, startTransition] = useTransition();
  const serving = SERVING_KINDS.includes(kind);
  const watchesDeployment = DEPLOYMENT_KINDS.includes(kind);
  const [signal, setSignal] = useState<string>(CANARY_SIGNALS[0]);

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const formEl = e.currentTarget;
    const input: CreateAlertRuleInput = {
      team, name: String(f.get("name") ?? ""), kind, threshold: num(f.get("threshold")),
      for_seconds: num(f.get("for_seconds")),
      // Budget share and quota saturation read the state now: no window.
      ...(f.has("window_minutes") ? { window_seconds: Math.round(num(f.get("window_minutes")) * 60) } : {}),
      webhook_urls: list(f.get("webhook_urls")), emails: list(f.get("emails")),
      ...(watchesDeployment ? { deployment_id: String(f.get("deployment_id") ?? "") || undefined } : {}),
      ...(kind === "drift" && String(f.get("feature") ?? "").trim() ? { feature: String(f.get("feature")).trim() } : {}),
      ...(kind === "drift" || kind === "canary_regression" ? { min_requests: num(f.get("min_requests")) } : {}),
      ...(kind === "canary_regression" ? { signal: signal as CreateAlertRuleInput["signal"] } : {}),
      ...(kind === "quota_saturation" ? { resource: String(f.get("resource")) as CreateAlertRuleInput["resource"] } : {}),
    };
    startTransition(async () => {
      const r = await create(input);
      if (!r.ok) {
        setError(r.error);
        setFields(r.fieldErrors ?? {});
        return;
      }
      setError(undefined);
      setFields({});
      formEl.reset();
      router.refresh();
    });
  }

  const teamDeployments = deployments.filter((d) => d.team === team);
  return (
    <Card title="New alert rule">
      <form onSubmit={onSubmit} className="grid gap-4 md:grid-cols-2" aria-label="New alert rule" noValidate>
        {teams.length > 1 && (
          <SelectField id="alert-team" label="Team" value={team} onChange={(e) => setTeam(e.target.value)} error={fields.team}>
            {teams.map((t) => <option key={t} value={t}>{t}</option>)}
          </SelectField>
        )}
        <TextField id="alert-name" name="name" label="Name" placeholder="ChurnJobsFailing" required error={fields.name} hint="Letters, digits and _ — also the Prometheus alert name." />
        <SelectField id="alert-kind" label="Watches" value={kind} onChange={(e) => setKind(e.target.value as AlertKind)} error={fields.kind}>
          {ALERT_KINDS.map((k) => <option key={k} value={k}>{KIND_LABELS[k]}</option>)}
        </SelectField>
        {watchesDeployment && (
          <SelectField id="alert-deployment" name="deployment_id" label="Deployment" error={fields.deployment_id} hint={teamDeployments.length === 0 ? "This team has no deployments." : undefined}>
            {teamDeployments.map((d) => <option key={d.id} value={d.id}>{d.label}</option>)}
          </SelectField>
        )}
        {kind === "drift" && (
          <TextField id="alert-feature" name="feature" label="Feature" placeholder="any feature" error={fields.feature} hint="A feature of the deployment's reference, or prediction's __prediction__; empty watches every one." />
        )}
        {kind === "canary_regression" && (
          <SelectField id="alert-signal" label="Compares" value={signal} onChange={(e) => setSignal(e.target.value)} error={fields.signal}>
            <option value="error_share">error share (percentage points over the baseline)</option>
            <option value="latency_p99_ms">p99 latency (ms over the baseline)</option>
          </SelectField>
        )}
        {(kind === "drift" || kind === "canary_regression") && (
          <TextField id="alert-min-requests" name="min_requests" label={kind === "drift" ? "Minimum samples per window" : "Minimum requests per variant"} inputMode="numeric" defaultValue="20" error={fields.min_requests} />
        )}
        {kind === "quota_saturation" && (
          <SelectField id="alert-resource" name="resource" label="Resource" error={fields.resource}>
            {QUOTA_RESOURCES.map((r) => <option key={r} value={r}>{r}</option>)}
          </SelectField>
        )}
        <TextField
          id="alert-threshold" name="threshold" label="Threshold" inputMode="decimal" required error={fields.threshold}
          hint={kind === "latency_p99_ms" ? "Milliseconds; fires above it." : kind === "drift" ? "A PSI, e.g. 0.25 (a significant shift); fires above it." : kind === "canary_regression" ? (signal === "error_share" ? "Percentage points, e.g. 2; fires above it." : "Milliseconds, e.g. 50; fires above it.") : kind === "job_failures" ? "Failed jobs; fires at or above it." : "A share from 0 to 1 (0.8 = 80 %); fires at or above it (error share: above)."}
        />
        {(serving || kind === "job_failures" || kind === "drift") && (
          <TextField id="alert-window" name="window_minutes" label="Window (minutes)" inputMode="numeric" defaultValue={kind === "drift" ? "60" : "5"} error={fields.window_seconds} />
        )}
        <TextField id="alert-for" name="for_seconds" label="For (seconds)" inputMode="numeric" defaultValue="0" error={fields.for_seconds} hint="How long it must breach before it fires." />
        <TextField id="alert-webhooks" name="webhook_urls" label="Webhook URLs" placeholder="https://hooks.slack.com/services/…" error={fields.webhook_urls} hint="Slack-compatible JSON; separate several with spaces." />
        <TextField id="alert-emails" name="emails" label="Email addresses" placeholder="oncall@example.com" error={fields.emails} />
        <div className="flex items-center gap-3 md:col-span-2">
          <Button type="submit" disabled={pending}>{pending ? "Creating…" : "Create rule"}</Button>
          <FormError message={error} />
        </div>
      </form>
    </Card>
  );
}
