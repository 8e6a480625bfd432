// Artifact previews for the browser: text-like files as capped UTF-8 text, raster images with their
// type; HTML and SVG are only ever shown as text (never rendered), everything else is download-only.
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { readRunArtifact } from "./artifacts";

export const PREVIEW_TEXT_BYTES = 512 * 1024;
const PREVIEW_IMAGE_BYTES = 10 * 1024 * 1024;

const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };
const TEXT_KINDS: Record<string, "json" | "csv" | "text" | "yaml" | "markdown"> = {
  json: "json", csv: "csv", tsv: "csv", txt: "text", log: "text", md: "markdown", yaml: "yaml", yml: "yaml", py: "text", toml: "text",
  ini: "text", cfg: "text", html: "text", htm: "text", svg: "text", xml: "text", ts: "text", js: "text", sh: "text",
};

export type PreviewKind = "json" | "csv" | "text" | "yaml" | "markdown" | "mlmodel" | "image" | "binary";

export function previewKind(path: string): PreviewKind {
  const name = path.split("/").pop() ?? path;
  if (name === "MLmodel") return "mlmodel";
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  if (IMAGE_TYPES[ext]) return "image";
  if (TEXT_KINDS[ext]) return TEXT_KINDS[ext]!;
  if (["requirements.txt", "conda.yaml", "python_env.yaml", "Dockerfile", "LICENSE"].includes(name)) return "text";
  return "binary";
}

async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.length > cap) {
      chunks.push(value.subarray(0, cap - size));
      size = cap;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return { bytes, truncated };
}

/** Answers text previews as JSON and images as their bytes (nosniff, no scripts). */
export async function previewRunArtifact(ctx: Ctx, runId: string, path: string): Promise<Response> {
  const kind = previewKind(path);
  const file = await readRunArtifact(ctx, runId, path);
  if (!file) throw new AppError("not_found", `Artifact ${path} was not found in run ${runId}.`);
  const secure = { "x-content-type-options": "nosniff", "content-security-policy": "default-src 'none'; sandbox", "cache-control": "private, max-age=60" };
  if (kind === "binary") {
    await file.stream.cancel();
    return Response.json({ kind, path, size: file.size, text: null, truncated: false }, { headers: secure });
  }
  if (kind === "image") {
    if (file.size > PREVIEW_IMAGE_BYTES) {
      await file.stream.cancel();
      throw new AppError("invalid_input", "The image is too large to preview; download it instead.");
    }
    const ext = path.split(".").pop()!.toLowerCase();
    return new Response(file.stream, { headers: { ...secure, "content-type": IMAGE_TYPES[ext]!, "content-length": String(file.size) } });
  }
  const { bytes, truncated } = await readCapped(file.stream, PREVIEW_TEXT_BYTES);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  return Response.json({ kind, path, size: file.size, text, truncated }, { headers: secure });
}
