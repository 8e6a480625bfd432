// Job status changes between Cairn processes on one PostgreSQL database. The leader dispatches and finishes
// jobs, so a browser watching a job through another process hears of it only through the database: every
// change this process publishes is also sent with pg_notify (ids, status, attempt and a short message; never a
// token or a spec), and every process LISTENs on a connection of its own and delivers the changes that came
// from another process (each is tagged with its sender, so a process never hears its own twice).
//
// A broken listening connection is reopened with backoff. Changes sent while it is down are not replayed: the
// event stream is a hint to look again (the job page also refreshes on a timer), the database is the record.
// On PGlite there is one process and no bridge: the bus stays in-process.
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import pg from "pg";
import { z } from "zod";
import type { Db } from "@/db/client";
import { JOB_STATUSES } from "@/db/schema";
import type { JobChange, JobChangeBus } from "./events";
import { log } from "../observability/log";

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
  log?: (message: string) => void;
};

export class JobChangeBridge {
  readonly processId: string;
  private client: pg.Client | null = null;
  private isListening = false;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private sending: Promise<void> = Promise.resolve();
  private detach: () => void = () => undefined;
  private readonly log: (message: string) => void;

  constructor(private readonly opts: BridgeOptions) {
    this.processId = opts.processId ?? randomUUID();
    this.log = opts.log ?? ((m) => log.info(`job changes: ${m}`));
  }

  /** Forwards this process's changes and starts listening; resolves once the first attempt to listen is decided. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.detach = this.opts.bus.forward((change) => this.send(change));
    await this.listen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.detach();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    this.isListening = false;
    await client?.end().catch(() => undefined);
    await this.sending;
  }

  /** Whether changes from other processes reach this one right now. */
  listening(): boolean {
    return this.isListening;
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

  private receive(n: pg.Notification): void {
    if (n.channel !== JOB_CHANGE_CHANNEL || !n.payload) return;
    let parsed: z.infer<typeof envelope>;
    try {
      parsed = envelope.parse(JSON.parse(n.payload));
    } catch {
      return;
    }
    if (parsed.from === this.processId) return;
    this.opts.bus.deliver(parsed.change);
  }

  private async listen(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.url, application_name: "cairn-job-changes" });
    this.client = client;
    client.on("error", (err) => this.broken(client, err));
    client.on("end", () => this.broken(client, new Error("the connection ended")));
    client.on("notification", (n) => this.receive(n));
    try {
      await client.connect();
      await client.query(`listen ${JOB_CHANGE_CHANNEL}`);
    } catch (err) {
      this.broken(client, err);
      return;
    }
    if (this.client !== client) return;
    if (this.failures > 0) this.log("listening again for other processes' job changes");
    this.failures = 0;
    this.isListening = true;
  }

  /** The listening connection failed or closed: reopen it after a wait that grows with each failure in a row. */
  private broken(client: pg.Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    this.isListening = false;
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    const base = this.opts.retryMs ?? 500;
    const delay = Math.min(this.opts.maxRetryMs ?? 10_000, base * 2 ** this.failures);
    this.failures += 1;
    if (this.failures === 1 || this.failures % 10 === 0) this.log(`not hearing other processes' job changes (${text(err)}); trying again in ${delay} ms`);
    this.timer = setTimeout(() => void this.listen(), delay);
    this.timer.unref();
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
