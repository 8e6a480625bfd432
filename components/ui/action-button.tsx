"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ReactNode } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "./button";

type Props<T> = {
  children: ReactNode;
  /** Runs the server action; its error is shown beside the button. */
  run: () => Promise<ActionResult<T>>;
  /** Asked first (window.confirm); nothing happens when declined. */
  confirm?: string;
  /** After success; by default the page is refreshed. */
  onDone?: (data: T) => void;
  variant?: "primary" | "secondary" | "danger" | "ghost";
  pendingLabel?: ReactNode;
  "aria-label"?: string;
};

/** A button that runs one server action: optional confirmation, disabled while it runs, the error inline. */
export function ActionButton<T>({ children, run, confirm, onDone, variant = "secondary", pendingLabel, "aria-label": ariaLabel }: Props<T>) {
  const router = useRouter();
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <span className="inline-flex items-center gap-2">
      {error && <span role="alert" className="max-w-md text-sm text-red-700">{error}</span>}
      <Button
        variant={variant}
        size="sm"
        disabled={pending}
        aria-label={ariaLabel}
        onClick={() => {
          if (confirm && !window.confirm(confirm)) return;
          startTransition(async () => {
            const r = await run();
            if (!r.ok) return setError(r.error);
            setError(undefined);
            if (onDone) onDone(r.data);
            else router.refresh();
          });
        }}
      >
        {pending && pendingLabel ? pendingLabel : children}
      </Button>
    </span>
  );
}
