// /api/2.0/mlflow-artifacts/artifacts[/<path>] — MLflow's proxied artifact API: PUT uploads,
// GET downloads (as an attachment, never rendered), GET ?path= lists.
import { handleAuthenticated } from "../http/api-route";
import { AppError } from "../errors";
import { downloadArtifact, listProxiedArtifacts, uploadArtifact } from "../tracking/artifacts";
import { mlflowErrorResponse } from "./protocol";

const PREFIX = "/api/2.0/mlflow-artifacts/artifacts";
const ENDPOINT = "/api/2.0/mlflow-artifacts/artifacts";

/**
 * The artifact path from the raw URL, each segment decoded exactly once. A URL whose path left the
 * prefix (dot segments such as `%2E%2E/` are resolved by URL parsing before we see them) is refused,
 * never read as the empty path.
 */
export function artifactPathFromUrl(url: URL): string {
  if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) {
    throw new AppError("invalid_input", `The artifact path must stay under ${PREFIX}/; ".." segments are not allowed.`);
  }
  const raw = url.pathname.slice(PREFIX.length);
  const segments = raw.split("/").filter((s, i) => !(i === 0 && s === ""));
  try {
    return segments.map((s) => decodeURIComponent(s)).join("/");
  } catch {
    throw new AppError("invalid_input", "The artifact path is not valid percent-encoding.");
  }
}

function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export function handleArtifacts(req: Request): Promise<Response> {
  return handleAuthenticated(req, ENDPOINT, mlflowErrorResponse, async (ctx) => {
    const url = new URL(req.url);
    const artifactPath = artifactPathFromUrl(url);
    if (req.method === "PUT") {
      // A PUT without a body (Content-Length: 0) uploads an empty file, which clients do log.
      await uploadArtifact(ctx, artifactPath, req.body ?? new Blob([]).stream());
      return Response.json({});
    }
    if (req.method === "GET" && artifactPath === "") {
      const files = await listProxiedArtifacts(ctx, url.searchParams.get("path") ?? "");
      return Response.json(files.length ? { files } : {});
    }
    if (req.method === "GET") {
      const file = await downloadArtifact(ctx, artifactPath);
      return new Response(file.stream, {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(file.size),
          "content-disposition": contentDisposition(file.filename),
          "x-content-type-options": "nosniff",
          "content-security-policy": "default-src 'none'; sandbox",
        },
      });
    }
    throw new AppError("invalid_input", `${req.method} is not supported on artifacts; use PUT to upload and GET to download or list.`);
  });
}
