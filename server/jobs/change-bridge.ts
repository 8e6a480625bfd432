// Job status changes between Cairn processes on one PostgreSQL database. The leader dispatches and finishes
// jobs, so a browser watching a job through another process hears of it only through the database: every
// change this process publishes is also sent with pg_notify (ids, status, attempt and a short message; never a
// token or a spec), and every process LISTENs on a connection of its own and delivers the changes that came
// from another process (each is tagged with its sender, so a process never hears its own twice).
//
// A broken (or deaf) listening connection is reopened with backoff (server/pg-listener.ts). Changes sent while it is down are not replayed: the
// event stream is a hint to look again (the job page also refreshes on a timer), the database is the record.
// On PGlite there is one process and no bridge: the bus stays in-process.
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "@/db/client";
import { JOB_STATUSES } from "@/db/schema";
import type { JobChange, JobChangeBus } from "./events";
import { log } from "../observability/log";
import { PgChannelListener } from "../pg-listener";

export const JOB_CHANGE_CHANNEL = "cairn_job_changes";
/** NOTIFY payloads stop at 8000 bytes; a message is cut well before (4 bytes a character at most). */
const MESSAGE_MAX_CHARS = 1000;

const envelope = z.object({
  from: z.string().min(1),
  change: z.object({
    job_id: z.string(),
    team_id: z.string(),
    status: z.enum(JOB_STATUSES),
    attempt: z.number().int(),
    at: z.number(),
    message: z.string().nullish(),
  }),
});

export type BridgeOptions = {
  db: Db;
  /** The PostgreSQL connection string, for the listening connection. */
  url: string;
  bus: JobChangeBus;
  /** Tags what this process sends; defaults to a fresh id per bridge. */
  processId?: string;
  /** First wait before reopening a broken listening connection; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** How often the listener checks that its own notifications still come back (default 5 s). */
  heartbeatMs?: number;
  log?: (message: string) => void;
};

export class JobChangeBridge {
  readonly processId: string;
  private sending: Promise<void> = Promise.resolve();
  private detach: () => void = () => undefined;
  private readonly log: (message: string) => void;
  private readonly listener: PgChannelListener;
  private started = false;

  constructor(private readonly opts: BridgeOptions) {
    this.processId = opts.processId ?? randomUUID();
    this.log = opts.log ?? ((m) => log.info(`job changes: ${m}`));
    this.listener = new PgChannelListener({
      url: opts.url, channel: JOB_CHANGE_CHANNEL, applicationName: "cairn-job-changes", purpose: "job changes",
      whileDown: "other processes' job changes are not heard until it is back",
      onPayload: (payload) => this.receive(payload),
      retryMs: opts.retryMs ?? 500, maxRetryMs: opts.maxRetryMs ?? 10_000, heartbeatMs: opts.heartbeatMs,
      log: opts.log ? (m) => opts.log!(m) : undefined,
    });
  }

  /** Forwards this process's changes and starts listening; resolves once the first attempt to listen is decided. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.detach = this.opts.bus.forward((change) => this.send(change));
    await this.listener.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.detach();
    await this.listener.stop();
    await this.sending;
  }

  /** Whether changes from other processes reach this one right now. */
  listening(): boolean {
    return this.listener.listening();
  }

  /** Resolves when every change published so far has been handed to the database. */
  flushed(): Promise<void> {
    return this.sending;
  }

  /** One at a time, in publish order: each NOTIFY commits before the next is sent, so listeners see them in order. */
  private send(change: JobChange): void {
    const message = change.message && change.message.length > MESSAGE_MAX_CHARS ? `${change.message.slice(0, MESSAGE_MAX_CHARS - 1)}…` : change.message;
    const payload = JSON.stringify({ from: this.processId, change: { ...change, message } });
    this.sending = this.sending
      .then(() => this.opts.db.execute(sql`select pg_notify(${JOB_CHANGE_CHANNEL}, ${payload})`))
      .then(
        () => undefined,
        (err: unknown) => this.log(`could not tell the other processes that job ${change.job_id} is ${change.status}: ${text(err)}`),
      );
  }

  private receive(payload: string): void {
    let parsed: z.infer<typeof envelope>;
    try {
      parsed = envelope.parse(JSON.parse(payload));
    } catch {
      return;
    }
    if (parsed.from === this.processId) return;
    this.opts.bus.deliver(parsed.change);
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
