// Alerts, a worker loop (./runtime.ts, leader only): each pass evaluates every alert rule (pending → firing →
// resolved, server/alerts/evaluate.ts) and then sends the notifications due (server/alerts/notify.ts).
import type { Db } from "@/db/client";
import { evaluateAlertRules } from "../alerts/evaluate";
import { deliverAlertNotifications } from "../alerts/notify";
import type { Loop } from "./runtime";

export type AlertLoopOptions = { intervalMs: number; repeatMs: number; baseUrl: string; smtpUrl?: string; from: string };

export class AlertLoop implements Loop {
  readonly name = "alerts" as const;
  readonly intervalMs: number;
  constructor(private readonly db: Db, private readonly opts: AlertLoopOptions, private readonly now: () => Date = () => new Date()) {
    this.intervalMs = opts.intervalMs;
  }

  async tick(): Promise<void> {
    const now = this.now();
    await evaluateAlertRules(this.db, { now, repeatMs: this.opts.repeatMs, baseUrl: this.opts.baseUrl });
    await deliverAlertNotifications(this.db, { now, smtpUrl: this.opts.smtpUrl, from: this.opts.from });
  }
}
