// Client-supplied artifact paths end up as filesystem paths, so they are checked strictly here before any
// backend touches storage. Anything ambiguous is refused rather than repaired: a "fixed" path that differs
// from what the client meant is worse than an error it can act on.
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../errors";

const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

// Control characters (C0 and DEL) never appear in real artifact names and can truncate or confuse paths/logs.
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;
// The HTTP layer has already decoded once; a surviving escape means double encoding, a classic traversal trick.
const PERCENT_ESCAPE = /%[0-9a-fA-F]{2}/;
const URI_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const DRIVE_LETTER = /^[a-z]:/i;

/** Quoted, escaped and shortened so a hostile path cannot forge lines in logs or flood a message. */
function show(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

function refuse(raw: string, problem: string): never {
  throw new AppError("invalid_input", `Artifact path ${show(raw)} ${problem}`);
}

/**
 * Validates a client-supplied artifact path (already URL-decoded once) and returns it as a clean relative
 * POSIX path. A single trailing "/" is tolerated (clients send it for directories) and dropped.
 */
export function normalizeArtifactPath(raw: string, opts?: { allowEmpty?: boolean }): string {
  if (typeof raw !== "string") throw new AppError("invalid_input", "Artifact path must be a string.");
  if (raw === "") {
    if (opts?.allowEmpty) return "";
    throw new AppError("invalid_input", "Artifact path is empty; give a relative path such as \"model/model.onnx\".");
  }
  if (Buffer.byteLength(raw, "utf8") > MAX_PATH_BYTES) {
    refuse(raw, `is longer than ${MAX_PATH_BYTES} bytes; use a shorter path.`);
  }
  if (CONTROL_CHAR.test(raw)) refuse(raw, "contains a control character (such as NUL or a newline); remove it.");
  if (PERCENT_ESCAPE.test(raw)) {
    refuse(raw, "contains a percent-encoded sequence after URL decoding (double encoding); send the path encoded exactly once.");
  }
  if (raw.includes("\\")) refuse(raw, "contains a backslash; use \"/\" to separate folders.");
  if (raw.includes("#") || raw.includes("?")) refuse(raw, "contains \"#\" or \"?\"; artifact names cannot contain them.");
  if (raw.startsWith("/")) refuse(raw, "is absolute; give a path relative to the artifact root.");
  if (DRIVE_LETTER.test(raw)) refuse(raw, "starts with a drive letter; give a path relative to the artifact root.");
  if (URI_SCHEME.test(raw)) refuse(raw, "looks like a URI; give a path relative to the artifact root, not a URI.");

  const trimmed = raw.endsWith("/") ? raw.slice(0, -1) : raw;
  const segments = trimmed.split("/");
  for (const segment of segments) {
    if (segment === "") refuse(raw, "contains an empty folder name (\"//\"); remove the extra slash.");
    if (segment === ".") refuse(raw, "contains a \".\" segment; remove it.");
    if (segment === "..") refuse(raw, "contains a \"..\" segment; artifact paths cannot point outside their root.");
    if (Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES) {
      refuse(raw, `has a name longer than ${MAX_SEGMENT_BYTES} bytes; shorten it.`);
    }
  }
  return segments.join("/");
}

/** True when `child` is strictly below `parent` (both absolute, same style). */
function isStrictlyInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== "" && !path.isAbsolute(rel) && rel.split(path.sep)[0] !== "..";
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

/**
 * Real location of `p`: realpath of its longest existing prefix plus the not-yet-existing rest. A prefix that
 * exists but cannot be resolved (dangling or looping symlink) yields null, because whatever it points at could
 * later be created outside the root.
 */
function realLocation(p: string): string | null {
  const rest: string[] = [];
  let current = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...rest);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ELOOP") return null;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
      try {
        fs.lstatSync(current);
        // lstat sees it but realpath cannot follow it: a dangling symlink.
        if (code === "ENOENT") return null;
      } catch {
        // Genuinely missing (or under a file): keep walking up.
      }
      const parent = path.dirname(current);
      if (parent === current) return null;
      rest.unshift(path.basename(current));
      current = parent;
    }
  }
}

/**
 * Resolves `rel` under `root` and returns the lexical absolute path, after checking that it lies strictly
 * inside root both lexically and once symlinks in the existing part of the path are resolved.
 */
export function joinUnder(root: string, rel: string): string {
  const base = path.resolve(root);
  if (path.isAbsolute(rel)) refuse(rel, "is absolute; give a path relative to the artifact root.");
  const target = path.resolve(base, rel);
  if (!isStrictlyInside(base, target)) refuse(rel, "points outside its artifact root.");
  const realBase = realLocation(base);
  const realTarget = realLocation(target);
  if (realBase === null || realTarget === null || !isStrictlyInside(realBase, realTarget)) {
    refuse(rel, "resolves outside its artifact root through a symbolic link; use a different path.");
  }
  return target;
}
