"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { FormEvent } from "react";
import type { ActionResult } from "@/lib/action-result";
import { formatDateTime, formatRelative } from "@/lib/format";
import type { CreateTokenInput, CreatedTokenDto, TokenDto } from "@/lib/schemas/tokens";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { FormError, SelectField, TextField } from "@/components/ui/field";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";

type Props = {
  tokens: TokenDto[];
  teams: { slug: string; name: string }[];
  defaultTeam?: string;
  createToken: (input: CreateTokenInput) => Promise<ActionResult<CreatedTokenDto>>;
  revokeToken: (id: string) => Promise<ActionResult<string>>;
};

function status(t: TokenDto): { label: string; tone: "green" | "red" | "neutral" } {
  if (t.revoked_at) return { label: "revoked", tone: "red" };
  if (new Date(t.expires_at).getTime() <= Date.now()) return { label: "expired", tone: "neutral" };
  return { label: "active", tone: "green" };
}

export function TokensPanel({ tokens, teams, defaultTeam, createToken, revokeToken }: Props) {
  const router = useRouter();
  const [created, setCreated] = useState<CreatedTokenDto | null>(null);
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [pending, startTransition] = useTransition();
  const [copied, setCopied] = useState(false);

  function onCreate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const input = { name: String(form.get("name") ?? ""), team: String(form.get("team") ?? ""), expires_in_days: Number(form.get("expires_in_days") ?? 30) };
    const formEl = e.currentTarget;
    startTransition(async () => {
      const result = await createToken(input);
      if (!result.ok) {
        setError(result.error);
        setFieldErrors(result.fieldErrors ?? {});
        return;
      }
      setError(undefined);
      setFieldErrors({});
      setCreated(result.data);
      setCopied(false);
      formEl.reset();
      router.refresh();
    });
  }

  function onRevoke(id: string, name: string) {
    if (!window.confirm(`Revoke token "${name}"? Anything using it stops working at once.`)) return;
    startTransition(async () => {
      const result = await revokeToken(id);
      if (!result.ok) setError(result.error);
      router.refresh();
    });
  }

  return (
    <div className="grid gap-6 xl:grid-cols-3">
      <div className="space-y-4 xl:col-span-2">
        {created && (
          <div role="status" className="rounded-lg border border-emerald-300 bg-emerald-50 p-4" data-testid="new-token">
            <p className="text-sm font-medium text-emerald-900">Token “{created.name}” created for team {created.team}. Copy it now — it will not be shown again.</p>
            <div className="mt-2 flex items-center gap-2">
              <code className="block flex-1 overflow-x-auto rounded bg-white px-2 py-1.5 font-mono text-xs text-stone-900 ring-1 ring-emerald-200" data-testid="token-secret">{created.token}</code>
              <Button variant="secondary" size="sm" onClick={async () => { await navigator.clipboard?.writeText(created.token).catch(() => undefined); setCopied(true); }}>
                {copied ? "Copied" : "Copy"}
              </Button>
            </div>
            <p className="mt-2 text-xs text-emerald-900">Expires {formatDateTime(created.expires_at)}.</p>
          </div>
        )}
        <Table caption="Your API tokens">
          <thead>
            <tr><Th>Name</Th><Th>Prefix</Th><Th>Team</Th><Th>Status</Th><Th>Last used</Th><Th>Expires</Th><Th><span className="sr-only">Actions</span></Th></tr>
          </thead>
          <tbody className="divide-y divide-stone-100">
            {tokens.length === 0 && <EmptyRow colSpan={7}>No tokens yet. Create one to use the API, the CLI or the mlflow client.</EmptyRow>}
            {tokens.map((t) => {
              const s = status(t);
              return (
                <tr key={t.id}>
                  <Td className="font-medium">{t.name}</Td>
                  <Td className="font-mono text-xs">{t.prefix}…</Td>
                  <Td className="font-mono text-xs">{t.team}</Td>
                  <Td><Badge tone={s.tone}>{s.label}</Badge></Td>
                  <Td className="text-stone-600" title={formatDateTime(t.last_used_at)}>{formatRelative(t.last_used_at)}</Td>
                  <Td className="text-stone-600">{formatDateTime(t.expires_at)}</Td>
                  <Td className="text-right">
                    {s.label === "active" && (
                      <Button variant="danger" size="sm" disabled={pending} onClick={() => onRevoke(t.id, t.name)} aria-label={`Revoke ${t.name}`}>Revoke</Button>
                    )}
                  </Td>
                </tr>
              );
            })}
          </tbody>
        </Table>
      </div>
      <Card title="New token">
        {teams.length === 0 ? (
          <p className="text-sm text-stone-600">Tokens act in a team; you are not in a team yet.</p>
        ) : (
          <form onSubmit={onCreate} className="space-y-4" noValidate>
            <FormError message={error} />
            <TextField id="name" label="Name" placeholder="laptop, ci, notebook…" required maxLength={100} error={fieldErrors.name} />
            <SelectField id="team" label="Team" defaultValue={defaultTeam} error={fieldErrors.team} hint="The token acts as you in this team only.">
              {teams.map((t) => <option key={t.slug} value={t.slug}>{t.name} ({t.slug})</option>)}
            </SelectField>
            <SelectField id="expires_in_days" label="Expires after" defaultValue="30" error={fieldErrors.expires_in_days}>
              <option value="1">1 day</option>
              <option value="7">7 days</option>
              <option value="30">30 days</option>
              <option value="90">90 days</option>
              <option value="365">1 year</option>
            </SelectField>
            <Button type="submit" disabled={pending}>{pending ? "Creating…" : "Create token"}</Button>
          </form>
        )}
      </Card>
    </div>
  );
}
