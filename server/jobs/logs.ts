// A job's output: the whole log as text (download), or a live Server-Sent Events stream that follows
// new lines, resumes from the byte offset in Last-Event-ID after a reconnect, and ends with an `end`
// event once the job has finished and everything is sent.
import { existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { eq } from "drizzle-orm";
import { jobs } from "@/db/schema";
import { FINAL_JOB_STATUSES } from "@/db/schema";
import { can } from "../auth/policy";
import { resolveRequestActor } from "../auth/request-actor";
import type { Ctx } from "../context";
import { jobLogFile, loadJob } from "./service";

const CHUNK = 64 * 1024;
const POLL_MS = 500;
/**
 * How often a live log re-checks its caller (session or token, membership), as the job event stream does: a
 * user deactivated, signed out, whose token was revoked or who left the team stops receiving lines within this.
 */
const RECHECK_MS = 2_000;
const DOWNLOAD_MAX = 20 * 1024 * 1024;

function readFrom(file: string, offset: number, max: number): Buffer {
  if (!existsSync(file)) return Buffer.alloc(0);
  const size = statSync(file).size;
  if (offset >= size) return Buffer.alloc(0);
  const length = Math.min(max, size - offset);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

export async function jobLogText(ctx: Ctx, id: string): Promise<Response> {
  const job = await loadJob(ctx, id, { mode: "read" });
  const file = jobLogFile(job.id);
  const size = existsSync(file) ? statSync(file).size : 0;
  const start = Math.max(0, size - DOWNLOAD_MAX);
  const body = readFrom(file, start, DOWNLOAD_MAX);
  return new Response(new Uint8Array(body), {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="job-${job.id}.log"`,
      "x-content-type-options": "nosniff",
      ...(start > 0 ? { "x-log-truncated-bytes": String(start) } : {}),
    },
  });
}

export async function jobLogStream(ctx: Ctx, id: string, req: Request): Promise<Response> {
  const job = await loadJob(ctx, id, { mode: "read" });
  const file = jobLogFile(job.id);
  const resume = Number(req.headers.get("last-event-id") ?? new URL(req.url).searchParams.get("offset") ?? 0);
  let offset = Number.isSafeInteger(resume) && resume >= 0 ? resume : 0;
  const encoder = new TextEncoder();
  let timer: NodeJS.Timeout | undefined;
  let recheck: NodeJS.Timeout | undefined;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        clearInterval(recheck);
        controller.close();
      };
      req.signal.addEventListener("abort", close);
      const ended = () => {
        send("event: end\ndata: access ended\n\n");
        close();
      };
      recheck = setInterval(() => {
        // A revoked token or an ended session refuses (throws); a removed member resolves without the team.
        void resolveRequestActor(ctx.db, req).then((now) => {
          if (!now || !can(now.actor, "read_data", job.teamId)) ended();
        }, ended);
      }, RECHECK_MS);
      send("retry: 2000\n\n");
      const pump = async () => {
        if (closed) return;
        try {
          for (;;) {
            const chunk = readFrom(file, offset, CHUNK);
            // Only whole lines go out, so a reconnect never splits one.
            const end = chunk.lastIndexOf(0x0a);
            if (end < 0) break;
            const lines = chunk.subarray(0, end).toString("utf8").split("\n");
            offset += end + 1;
            send(`id: ${offset}\n${lines.map((l) => `data: ${l.replace(/\r$/, "")}`).join("\n")}\n\n`);
            if (chunk.length < CHUNK) break;
          }
          const [row] = await ctx.db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, job.id));
          const size = existsSync(file) ? statSync(file).size : 0;
          if (!row || (FINAL_JOB_STATUSES.includes(row.status) && offset >= size)) {
            send(`event: end\ndata: ${row?.status ?? "gone"}\n\n`);
            close();
            return;
          }
        } catch (err) {
          send(`event: error\ndata: ${err instanceof Error ? err.message : "log read failed"}\n\n`);
          close();
          return;
        }
        timer = setTimeout(() => void pump(), POLL_MS);
      };
      void pump();
    },
    cancel() {
      closed = true;
      clearTimeout(timer);
      clearInterval(recheck);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" } });
}
