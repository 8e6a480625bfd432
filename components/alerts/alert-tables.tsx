"use client";

import { ActionButton } from "@/components/ui/action-button";
import { Badge } from "@/components/ui/badge";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import type { ActionResult } from "@/lib/action-result";
import { formatDateTime, formatRelative } from "@/lib/format";
import type { AlertDto, AlertHistoryDto, AlertRuleDto } from "@/lib/schemas/alerts";
import { KIND_LABELS } from "@/lib/schemas/alerts";
import { STATE_TONE, formatAlertValue, formatDuration } from "./format";

const HOUR = 3_600_000;

export function ActiveAlerts({ alerts, acknowledge }: { alerts: AlertDto[]; acknowledge: (input: { id: string }) => Promise<ActionResult<string | null>> }) {
  return (
    <section aria-labelledby="active-heading" className="space-y-2">
      <h2 id="active-heading" className="text-sm font-semibold text-stone-900">Active alerts</h2>
      <Table caption="Active alerts">
        <thead><tr><Th>Rule</Th><Th>Team</Th><Th>State</Th><Th>Value</Th><Th>Threshold</Th><Th>Since</Th><Th>Acknowledged</Th><Th><span className="sr-only">Actions</span></Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {alerts.length === 0 && <EmptyRow colSpan={8}>Nothing is pending or firing.</EmptyRow>}
          {alerts.map((a) => (
            <tr key={a.id}>
              <Td className="font-medium">{a.rule_name}</Td>
              <Td className="font-mono text-xs">{a.team}</Td>
              <Td><Badge tone={STATE_TONE[a.state]}>{a.state}</Badge></Td>
              <Td className="tabular-nums">{formatAlertValue(a.kind, a.value)}</Td>
              <Td className="tabular-nums">{formatAlertValue(a.kind, a.threshold)}</Td>
              <Td title={formatDateTime(a.fired_at ?? a.started_at)}>{formatRelative(a.fired_at ?? a.started_at)}</Td>
              <Td>{a.acknowledged_at ? <span title={formatDateTime(a.acknowledged_at)}>by {a.acknowledged_by}</span> : "—"}</Td>
              <Td>{a.viewer_can.acknowledge && <ActionButton run={() => acknowledge({ id: a.id })} aria-label={`Acknowledge ${a.rule_name}`}>Acknowledge</ActionButton>}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </section>
  );
}

type RuleActions = {
  silence: (input: { id: string; until: string | null }) => Promise<ActionResult<string | null>>;
  remove: (input: { id: string }) => Promise<ActionResult<string>>;
};

export function AlertRulesTable({ rules, silence, remove }: { rules: AlertRuleDto[] } & RuleActions) {
  return (
    <section aria-labelledby="rules-heading" className="space-y-2">
      <h2 id="rules-heading" className="text-sm font-semibold text-stone-900">Rules</h2>
      <Table caption="Alert rules">
        <thead><tr><Th>Name</Th><Th>Team</Th><Th>Watches</Th><Th>Threshold</Th><Th>Window · for</Th><Th>State</Th><Th>Last value</Th><Th>Notifies</Th><Th><span className="sr-only">Actions</span></Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {rules.length === 0 && <EmptyRow colSpan={9}>No alert rules yet. Create one below: for example, job failures ≥ 1 in 5 minutes, notifying your team&apos;s Slack webhook.</EmptyRow>}
          {rules.map((r) => (
            <tr key={r.id}>
              <Td className="font-medium">{r.name}</Td>
              <Td className="font-mono text-xs">{r.team}</Td>
              <Td className="text-stone-700">{KIND_LABELS[r.kind]}{r.resource ? ` (${r.resource})` : ""}{r.kind === "drift" ? ` (${r.feature ?? "any feature"})` : ""}{r.deployment_id && <span className="block font-mono text-xs text-stone-500">{r.deployment_id.slice(0, 8)}</span>}</Td>
              <Td className="tabular-nums">{formatAlertValue(r.kind, r.threshold, r.signal)}</Td>
              <Td className="text-stone-600">{r.kind === "budget_share" || r.kind === "quota_saturation" ? "now" : formatDuration(r.window_seconds)} · {formatDuration(r.for_seconds)}</Td>
              <Td>
                <Badge tone={STATE_TONE[r.state]}>{r.state}</Badge>
                {r.silenced_until && <span className="block text-xs text-stone-500" title={formatDateTime(r.silenced_until)}>silenced until {formatDateTime(r.silenced_until)}</span>}
              </Td>
              <Td className="tabular-nums" title={r.last_evaluated_at ? `read ${formatDateTime(r.last_evaluated_at)}` : "not evaluated yet"}>{r.last_evaluated_at ? formatAlertValue(r.kind, r.value, r.signal) : "—"}</Td>
              <Td className="text-xs text-stone-600">{[...r.webhook_urls, ...r.emails].join(", ") || "nobody (page only)"}</Td>
              <Td>
                {r.viewer_can.edit && (
                  <span className="flex flex-wrap gap-1">
                    {r.silenced_until
                      ? <ActionButton run={() => silence({ id: r.id, until: null })} aria-label={`Unsilence ${r.name}`}>Unsilence</ActionButton>
                      : <ActionButton run={() => silence({ id: r.id, until: new Date(Date.now() + 4 * HOUR).toISOString() })} aria-label={`Silence ${r.name} for 4 hours`}>Silence 4 h</ActionButton>}
                    <ActionButton variant="danger" confirm={`Delete the rule ${r.name} with its alerts and history?`} run={() => remove({ id: r.id })} aria-label={`Delete ${r.name}`}>Delete</ActionButton>
                  </span>
                )}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </section>
  );
}

export function AlertHistory({ history }: { history: AlertHistoryDto[] }) {
  return (
    <section aria-labelledby="history-heading" className="space-y-2">
      <h2 id="history-heading" className="text-sm font-semibold text-stone-900">History</h2>
      <Table caption="Alert history">
        <thead><tr><Th>When</Th><Th>Rule</Th><Th>State</Th><Th>Value</Th><Th>Threshold</Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {history.length === 0 && <EmptyRow colSpan={5}>No alert has changed state yet.</EmptyRow>}
          {history.map((h, i) => (
            <tr key={`${h.alert_id}-${h.at}-${i}`}>
              <Td title={formatDateTime(h.at)}>{formatDateTime(h.at)}</Td>
              <Td className="font-medium">{h.rule_name}</Td>
              <Td><Badge tone={STATE_TONE[h.state]}>{h.state}</Badge></Td>
              <Td className="tabular-nums">{h.value ?? "no data"}</Td>
              <Td className="tabular-nums">{h.threshold}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </section>
  );
}
