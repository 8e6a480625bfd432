// GET /api/v1/jobs/events: job status changes of the caller's teams as Server-Sent Events, pushed the
// moment they commit (see events.ts). `job` narrows to one job; a heartbeat comment keeps proxies open. The
// caller is checked again every RECHECK_MS (their token or session, their memberships): a member removed from a
// team stops hearing its jobs within that time, and a stream whose caller lost every team it watched closes.
import { can, readableTeamIds } from "../auth/policy";
import { resolveRequestActor } from "../auth/request-actor";
import type { Ctx } from "../context";
import { homeTeam } from "../tracking/access";
import type { JobChange } from "./events";
import { subscribeJobChanges } from "./events";
import { loadJob } from "./service";

const HEARTBEAT_MS = 15_000;
const RECHECK_MS = 2_000;

export async function jobChangeStream(ctx: Ctx, req: Request, filter: { team?: string; job?: string }): Promise<Response> {
  const team = filter.team ? (await homeTeam(ctx, filter.team)).id : undefined;
  const job = filter.job ? await loadJob(ctx, filter.job, { mode: "read" }) : undefined;
  const jobId = job?.id;
  /** The teams whose changes this caller may hear now (null: every team, a platform admin). */
  const teamsOf = (actor: Ctx["actor"]): Set<string> | null => {
    const watched = team ?? job?.teamId;
    if (watched) return can(actor, "read_data", watched) ? new Set([watched]) : new Set();
    const ids = readableTeamIds(actor);
    return ids ? new Set(ids) : null;
  };
  let allowed = teamsOf(ctx.actor);
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
      const recheck = setInterval(() => {
        void resolveRequestActor(ctx.db, req).then(
          (now) => {
            allowed = now ? teamsOf(now.actor) : new Set();
            if (allowed && allowed.size === 0) stop();
          },
          () => {
            allowed = new Set();
            stop();
          },
        );
      }, RECHECK_MS);
      stop = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearInterval(recheck);
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
