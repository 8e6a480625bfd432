// POST /api/v1/code-archives — upload training code (zip or .tar.gz, raw body or multipart "file"): 201 archive
// GET /api/v1/code-archives — the caller's teams' code archives, newest first: {code_archives}
import { CODE_ARCHIVE_CONTENT_TYPES, listCodeArchivesQuery, uploadCodeArchiveQuery } from "@/lib/schemas/code-archives";
import { apiRoute } from "@/server/http/api-route";
import { fileUpload } from "@/server/http/file-upload";
import { env } from "@/server/env";
import { archiveTooLarge, listCodeArchives, uploadCodeArchive } from "@/server/jobs/code-archives";

export const dynamic = "force-dynamic";

export const POST = apiRoute({ endpoint: "/api/v1/code-archives", query: uploadCodeArchiveQuery, status: 201 }, async ({ ctx, req, query }) => {
  const upload = await fileUpload(req, query.filename, { rawTypes: CODE_ARCHIVE_CONTENT_TYPES, field: "file", maxBytes: env().codeArchiveMaxBytes, tooLarge: archiveTooLarge });
  return uploadCodeArchive(ctx, { team: query.team, ...upload });
});

export const GET = apiRoute({ endpoint: "/api/v1/code-archives", query: listCodeArchivesQuery }, async ({ ctx, query }) => listCodeArchives(ctx, query));
