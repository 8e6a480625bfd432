"use client";

import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";
import type { ModelSignature } from "./format";
import { exampleBodies } from "./format";

type Endpoint = "infer" | "invocations";
type Send = (input: { id: string; endpoint: Endpoint; body: string }) => Promise<ActionResult<{ status: number; body: string; ms: number }>>;

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Sends one request to the deployment (Open Inference Protocol v2 or MLflow's /invocations) and shows the answer. */
export function TryIt({ id, signature, inputExample, send, disabled }: { id: string; signature: ModelSignature | null; inputExample?: string | null; send: Send; disabled?: string }) {
  const examples = exampleBodies(signature, inputExample ?? null);
  const [endpoint, setEndpoint] = useState<Endpoint>("infer");
  const [body, setBody] = useState(examples.infer);
  const [answer, setAnswer] = useState<{ status: number; body: string; ms: number } | null>(null);
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="try-endpoint" className="block text-xs text-stone-600">Endpoint</label>
          <select
            id="try-endpoint" value={endpoint}
            onChange={(e) => {
              const next = e.target.value as Endpoint;
              setEndpoint(next);
              setBody(examples[next]);
              setAnswer(null);
              setError(undefined);
            }}
            className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-teal-600 focus:outline-none"
          >
            <option value="infer">Open Inference Protocol v2 — /v2/models/…/infer</option>
            <option value="invocations">MLflow scoring — /invocations</option>
          </select>
        </div>
        <Button
          size="sm" disabled={pending || Boolean(disabled)} aria-describedby={disabled ? "try-disabled" : undefined}
          onClick={() => startTransition(async () => {
            const r = await send({ id, endpoint, body });
            if (!r.ok) return setError(r.error);
            setError(undefined);
            setAnswer(r.data);
          })}
        >
          {pending ? "Sending…" : "Send request"}
        </Button>
        {disabled && <span id="try-disabled" className="text-sm text-stone-500">{disabled}</span>}
      </div>
      <p className="text-xs text-stone-500" data-testid="try-source">
        {examples.fromExample
          ? "Filled with the input example logged with the model (model/input_example.json)."
          : "The model logged no input example: these are placeholder values of the right shape — replace them with real ones."}
      </p>
      <div>
        <label htmlFor="try-body" className="block text-xs text-stone-600">Request body (JSON)</label>
        <textarea id="try-body" value={body} onChange={(e) => setBody(e.target.value)} rows={8} spellCheck={false} className="mt-1 block w-full rounded-md border border-stone-300 bg-white p-2 font-mono text-xs focus:border-teal-600 focus:outline-none" />
      </div>
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
      {answer && (
        <section aria-label="Response" className="space-y-1">
          <p className="text-xs text-stone-600">
            <span className={answer.status < 300 ? "font-medium text-green-800" : "font-medium text-red-700"}>HTTP {answer.status}</span> · {answer.ms} ms
          </p>
          <pre className="max-h-80 overflow-auto rounded-md bg-stone-900 p-3 font-mono text-xs text-stone-100">{pretty(answer.body)}</pre>
        </section>
      )}
    </div>
  );
}
