// The contract every artifact backend (filesystem, later object storage) implements for MLflow's proxied
// artifact API. `root` is always chosen by the server; `relPath`/`relDir` come from clients and are validated
// by the backend with normalizeArtifactPath.

/** One listing row, shaped like MLflow's FileInfo: `path` is relative to the listed root, not to relDir. */
export type ArtifactEntry = { path: string; is_dir: boolean; file_size?: number };

export type ArtifactStore = {
  /** Atomically creates or replaces a file; refuses bodies over maxBytes and leaves nothing behind. */
  put(
    root: string[],
    relPath: string,
    body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    opts: {
      maxBytes: number;
      /**
       * Wraps the moment the file appears at its path (the body is already stored aside): the caller may check
       * and lock first, and throw to refuse — the staged body is then removed and nothing is written.
       */
      commit?: (place: () => Promise<void>) => Promise<void>;
    },
  ): Promise<{ size: number }>;
  /** null when missing or a directory. */
  get(root: string[], relPath: string): Promise<{ stream: ReadableStream<Uint8Array>; size: number } | null>;
  /** Immediate children sorted by name; null when relDir is a file; [] when missing. */
  list(root: string[], relDir: string): Promise<ArtifactEntry[] | null>;
  stat(root: string[], relPath: string): Promise<{ is_dir: boolean; size: number } | null>;
  /** Total bytes of the files under root (0 when missing); symlinks are not followed. */
  usage(root: string[]): Promise<number>;
  /** Deletes everything under root; a missing root is fine. */
  removeAll(root: string[]): Promise<void>;
};

const ROOT_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks a server-chosen root and returns it as a relative POSIX path. A bad root is a programming error, not
 * user input, so this throws a plain Error (logged as internal) rather than an AppError.
 */
export function artifactRootPath(root: readonly string[]): string {
  // An empty root would address the whole store, which removeAll would then wipe.
  if (root.length === 0) throw new Error("Artifact root must have at least one segment");
  for (const segment of root) {
    if (typeof segment !== "string" || !ROOT_SEGMENT.test(segment) || segment === "." || segment === "..") {
      throw new Error(`Invalid artifact root segment ${JSON.stringify(segment)} in ${JSON.stringify(root)}`);
    }
  }
  return root.join("/");
}
