// A job's code snapshot (GET /api/v1/jobs/{id}/code): its built-in example folder, or the content of its
// uploaded code archive, as a .tar.gz — for executors that run the job away from this machine (the
// kubernetes executor's init container runs `tar -xzf` on it).
import type { Readable } from "node:stream";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { codeArchiveTarGz, isArchiveId, teamCodeArchive } from "./code-archives";
import { loadJob, resolveSource } from "./service";
import { tarGzDirectory } from "./tar";

/** The .tar.gz: built-in examples are small and built at once; an uploaded archive's content streams. */
export type CodeArchive = { filename: string; body: Uint8Array | Readable };

/** Readable by the team's members and by the job's own (team-scoped) token; other teams get 404. */
export async function getJobCode(ctx: Ctx, id: string): Promise<CodeArchive> {
  const job = await loadJob(ctx, id, { mode: "read" });
  if (!job.spec.source) throw new AppError("not_found", `Job ${id} has no code source; it runs its command in its image.`);
  const gone = new AppError("not_found", `The code source ${job.spec.source} of job ${id} is no longer available.`);
  if (isArchiveId(job.spec.source)) {
    const archive = await teamCodeArchive(ctx.db, job.teamId, job.spec.source);
    if (!archive) throw gone;
    return codeArchiveTarGz(archive);
  }
  const source = available(job.spec.source);
  if (!source) throw gone;
  return { filename: `${source.source.replace(/\//g, "-")}.tar.gz`, body: tarGzDirectory(source.dir) };
}

function available(source: string): ReturnType<typeof resolveSource> {
  try {
    return resolveSource(source);
  } catch {
    return null;
  }
}
