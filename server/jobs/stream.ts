// GET /api/v1/jobs/events: job status changes of the caller's teams as Server-Sent Events, pushed the
// moment they commit (see events.ts). `job` narrows to one job; a heartbeat comment keeps proxies open.
import { readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { homeTeam } from "../tracking/access";
import type { JobChange } from "./events";
import { subscribeJobChanges } from "./events";
import { loadJob } from "./service";

const HEARTBEAT_MS = 15_000;

export async function jobChangeStream(ctx: Ctx, req: Request, filter: { team?: string; job?: string }): Promise<Response> {
  const teamIds = filter.team ? [(await homeTeam(ctx, filter.team)).id] : readableTeamIds(ctx.actor);
  const jobId = filter.job ? (await loadJob(ctx, filter.job, { mode: "read" })).id : undefined;
  const allowed = teamIds ? new Set(teamIds) : null;
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const unsubscribe = subscribeJobChanges((c: JobChange) => {
        if (allowed && !allowed.has(c.team_id)) return;
        if (jobId && c.job_id !== jobId) return;
        const { team_id: _team, ...visible } = c;
        send(`event: job\ndata: ${JSON.stringify(visible)}\n\n`);
      });
      const heartbeat = setInterval(() => send(": keep-alive\n\n"), HEARTBEAT_MS);
      stop = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      req.signal.addEventListener("abort", () => stop());
      send("retry: 2000\n\n");
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" } });
}
