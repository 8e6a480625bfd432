// Uploaded code archives (POST/GET /api/v1/code-archives): query parameters.
import { z } from "zod";

export const CODE_ARCHIVE_CONTENT_TYPES = ["application/zip", "application/gzip", "application/x-gzip", "application/octet-stream"] as const;

export const uploadCodeArchiveQuery = z.object({
  team: z.string().max(64).optional(),
  filename: z.string().trim().min(1).max(255).optional(),
});

export const listCodeArchivesQuery = z.object({
  team: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().default(200),
});
