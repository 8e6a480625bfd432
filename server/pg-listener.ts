// LISTEN on a PostgreSQL channel over a connection of its own, for as long as the process runs: the one way Cairn
// hears what other processes (or psql, or a trigger) NOTIFY — the gateway's route cache and the job change bridge
// both use it. A broken connection is reopened with a wait that doubles up to a limit. Every few seconds the
// listener NOTIFYs itself a heartbeat on the channel and counts as listening only while those come back: a
// connection dropped without a word, or a pooler that does not pass notifications on, is not taken for a
// working one. Heartbeats are never handed to the caller.
import pg from "pg";
import { log as serverLog } from "./observability/log";

/** The payload of a heartbeat; a caller's own payloads must never be exactly this. */
export const HEARTBEAT_PAYLOAD = "heartbeat";

export type ChannelListenerOptions = {
  url: string;
  channel: string;
  /** The connection's application_name (pg_stat_activity shows it). */
  applicationName: string;
  /** What the listener serves, in log lines: "gateway routes: …". */
  purpose: string;
  /** What stops working while it is not listening, in log lines ("lookups read the database until it is back"). */
  whileDown: string;
  onPayload: (payload: string) => void;
  /** Told each time listening starts or stops. */
  onListening?: (listening: boolean) => void;
  /** First wait before reopening a broken connection; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** How often it checks that its own notifications still come back. */
  heartbeatMs?: number;
  /** How long the first heartbeat of a new connection may take to come back. */
  confirmMs?: number;
  log?: (message: string, err?: unknown) => void;
};

export class PgChannelListener {
  private client: pg.Client | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private beat: NodeJS.Timeout | null = null;
  private heard = true;
  private onHeartbeat: (() => void) | null = null;
  private failures = 0;
  private readonly log: (message: string, err?: unknown) => void;

  constructor(private readonly opts: ChannelListenerOptions) {
    this.log = opts.log ?? ((message, err) => serverLog.warn(message, err === undefined ? undefined : { err }));
  }

  /** Starts listening; resolves once the first attempt is decided (listening, or retrying in the background). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.connect();
    this.beat = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs ?? 5_000);
    this.beat.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.beat) clearInterval(this.beat);
    this.timer = null;
    this.beat = null;
    const client = this.client;
    this.client = null;
    if (client) this.opts.onListening?.(false);
    await client?.end().catch(() => undefined);
  }

  /** Whether notifications reach this process right now. */
  listening(): boolean {
    return this.client !== null;
  }

  private async heartbeat(): Promise<void> {
    const client = this.client;
    if (!client || this.stopped) return;
    if (!this.heard) {
      client.emit("error", new Error("its own heartbeat did not come back on the listening connection"));
      return;
    }
    this.heard = false;
    try {
      await client.query("select pg_notify($1, $2)", [this.opts.channel, HEARTBEAT_PAYLOAD]);
    } catch (err) {
      client.emit("error", err);
    }
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const { channel, purpose } = this.opts;
    const client = new pg.Client({ connectionString: this.opts.url, keepAlive: true, connectionTimeoutMillis: 5_000, application_name: this.opts.applicationName });
    let lost = false;
    const onLost = (err: unknown) => {
      if (lost) return;
      lost = true;
      const wasListening = this.client === client;
      if (wasListening) this.client = null;
      client.end().catch(() => undefined);
      if (wasListening) this.opts.onListening?.(false);
      if (this.stopped) return;
      this.retry(err);
    };
    client.on("error", onLost);
    client.on("end", () => onLost(new Error("the connection ended")));
    client.on("notification", (n) => {
      if (n.channel !== channel || n.payload === undefined) return;
      // A heartbeat (its own or another process's) says the channel works; anything else is the caller's.
      if (n.payload === HEARTBEAT_PAYLOAD) {
        this.heard = true;
        this.onHeartbeat?.();
      } else this.opts.onPayload(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      // Listening only once a heartbeat came back: a connection that does not pass notifications on (a pooler
      // in transaction mode) never counts as listening.
      const heard = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.opts.confirmMs ?? 2_000);
        this.onHeartbeat = () => { clearTimeout(timer); resolve(true); };
      });
      await client.query("select pg_notify($1, $2)", [channel, HEARTBEAT_PAYLOAD]);
      const ok = await heard;
      this.onHeartbeat = null;
      if (!ok) throw new Error("no notification came back on the listening connection (does a pooler sit in between?)");
      if (this.stopped || lost) {
        await client.end().catch(() => undefined);
        return;
      }
      if (this.failures > 0) this.log(`${purpose}: listening again`);
      this.client = client;
      this.failures = 0;
      this.heard = true;
      this.opts.onListening?.(true);
    } catch (err) {
      onLost(err);
    }
  }

  /** Reopens the connection after a wait that grows with each failure in a row; says so on the 1st and every 10th. */
  private retry(err: unknown): void {
    if (this.timer || this.stopped) return;
    const delay = Math.min(this.opts.maxRetryMs ?? 30_000, (this.opts.retryMs ?? 500) * 2 ** this.failures);
    this.failures += 1;
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.log(`${this.opts.purpose}: not listening (${err instanceof Error ? err.message : String(err)}); ${this.opts.whileDown}; trying again in ${delay} ms`);
    }
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }
}
