import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PATH_ESCAPES } from "./escapes";
import { createFsArtifactStore } from "./fs-store";
import type { ArtifactStore } from "./store";

const ESCAPES = PATH_ESCAPES;

const RUN = ["churn", "12", "0123456789abcdef0123456789abcdef"];
const MAX = { maxBytes: 1024 * 1024 };

function body(...parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(typeof part === "string" ? new TextEncoder().encode(part) : part);
      controller.close();
    },
  });
}

async function* iterable(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** Every path under dir (without following symlinks), with file contents, to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string) => {
    for (const name of fs.readdirSync(abs)) {
      const childAbs = path.join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(childAbs);
      if (st.isSymbolicLink()) out[childRel] = `-> ${fs.readlinkSync(childAbs)}`;
      else if (st.isDirectory()) {
        out[childRel] = "<dir>";
        walk(childAbs, childRel);
      } else out[childRel] = fs.readFileSync(childAbs, "utf8");
    }
  };
  walk(dir, "");
  return out;
}

describe("filesystem artifact store", () => {
  let tmp: string;
  let baseDir: string;
  let outside: string;
  let store: ArtifactStore;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-artifacts-"));
    baseDir = path.join(tmp, "store");
    outside = path.join(tmp, "outside");
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, "secret.txt"), "secret");
    store = createFsArtifactStore(baseDir);
  });

  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const runDir = () => path.join(baseDir, ...RUN);
  const tmpEntries = () => (fs.existsSync(path.join(baseDir, ".tmp")) ? fs.readdirSync(path.join(baseDir, ".tmp")) : []);

  it("round-trips nested files through put, get, list and stat", async () => {
    expect(await store.put(RUN, "model/MLmodel", body("flavors: {}\n"), MAX)).toEqual({ size: 12 });
    expect(await store.put(RUN, "model/data/weights.bin", body(new Uint8Array([0, 1, 2, 255])), MAX)).toEqual({ size: 4 });
    await store.put(RUN, "metrics.json", iterable('{"a":', "1}"), MAX);

    const got = await store.get(RUN, "model/MLmodel");
    expect(got?.size).toBe(12);
    expect(await text(got!.stream)).toBe("flavors: {}\n");
    const bin = await store.get(RUN, "model/data/weights.bin");
    expect([...new Uint8Array(await new Response(bin!.stream).arrayBuffer())]).toEqual([0, 1, 2, 255]);
    expect(await text((await store.get(RUN, "metrics.json"))!.stream)).toBe('{"a":1}');

    expect(await store.list(RUN, "")).toEqual([
      { path: "metrics.json", is_dir: false, file_size: 7 },
      { path: "model", is_dir: true },
    ]);
    expect(await store.list(RUN, "model")).toEqual([
      { path: "model/MLmodel", is_dir: false, file_size: 12 },
      { path: "model/data", is_dir: true },
    ]);
    expect(await store.list(RUN, "model/data/")).toEqual([{ path: "model/data/weights.bin", is_dir: false, file_size: 4 }]);

    expect(await store.stat(RUN, "model")).toEqual({ is_dir: true, size: 0 });
    expect(await store.stat(RUN, "model/data/weights.bin")).toEqual({ is_dir: false, size: 4 });
    expect(await store.stat(RUN, "")).toEqual({ is_dir: true, size: 0 });
    expect(fs.readFileSync(path.join(runDir(), "model", "MLmodel"), "utf8")).toBe("flavors: {}\n");
    expect(tmpEntries()).toEqual([]);
  });

  it("reports missing things as null or empty, and directories/files where the other is expected", async () => {
    expect(await store.list(RUN, "")).toEqual([]);
    expect(await store.get(RUN, "nope")).toBeNull();
    expect(await store.stat(RUN, "nope")).toBeNull();
    expect(await store.stat(RUN, "")).toBeNull();
    await store.put(RUN, "dir/file.txt", body("x"), MAX);
    expect(await store.list(RUN, "missing/deeper")).toEqual([]);
    expect(await store.list(RUN, "dir/file.txt")).toBeNull();
    expect(await store.list(RUN, "dir/file.txt/below")).toEqual([]);
    expect(await store.get(RUN, "dir")).toBeNull();
    expect(await store.get(RUN, "")).toBeNull();
    expect(await store.get(RUN, "dir/file.txt/below")).toBeNull();
    expect(await store.stat(RUN, "dir/file.txt/below")).toBeNull();
  });

  it("stores empty files", async () => {
    expect(await store.put(RUN, "empty", body(), MAX)).toEqual({ size: 0 });
    const got = await store.get(RUN, "empty");
    expect(got?.size).toBe(0);
    expect(await text(got!.stream)).toBe("");
  });

  it("replaces a file atomically: readers see the old or the new content, never a partial one", async () => {
    await store.put(RUN, "model.onnx", body("version-1"), MAX);
    const earlier = await store.get(RUN, "model.onnx");

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncIterable<Uint8Array> {
      yield new TextEncoder().encode("version-");
      await gate;
      yield new TextEncoder().encode("2, longer");
    }
    const pending = store.put(RUN, "model.onnx", slow(), MAX);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await text((await store.get(RUN, "model.onnx"))!.stream)).toBe("version-1");
    expect(tmpEntries()).toHaveLength(1);
    release();
    expect(await pending).toEqual({ size: 17 });

    expect(await text((await store.get(RUN, "model.onnx"))!.stream)).toBe("version-2, longer");
    // A download that started before the replace still reads the complete old file.
    expect(await text(earlier!.stream)).toBe("version-1");
    expect(fs.readdirSync(runDir())).toEqual(["model.onnx"]);
    expect(tmpEntries()).toEqual([]);
  });

  it("refuses bodies over the limit, cancels the upload and leaves no file, folder or temp file", async () => {
    await store.put(RUN, "kept.txt", body("keep"), MAX);
    const before = snapshot(tmp);
    let cancelled = false;
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(4096));
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(store.put(RUN, "big/nested/file.bin", endless, { maxBytes: 10_000 })).rejects.toMatchObject({
      code: "invalid_input",
      message: expect.stringMatching(/larger than the .* upload limit/),
    });
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThan(10);
    expect(snapshot(tmp)).toEqual({ ...before, "store/.tmp": "<dir>" });
    expect(tmpEntries()).toEqual([]);

    await expect(store.put(RUN, "kept.txt", body("x".repeat(11)), { maxBytes: 10 })).rejects.toMatchObject({ code: "invalid_input" });
    expect(fs.readFileSync(path.join(runDir(), "kept.txt"), "utf8")).toBe("keep");
    expect(await store.put(RUN, "exact.txt", body("x".repeat(10)), { maxBytes: 10 })).toEqual({ size: 10 });
  });

  it("names the limit in megabytes", async () => {
    await expect(store.put(RUN, "f", body("x".repeat(11)), { maxBytes: 0 })).rejects.toThrow(/upload limit/);
    const big = new Uint8Array(2 * 1024 * 1024 + 1);
    await expect(store.put(RUN, "f", body(big), { maxBytes: 2 * 1024 * 1024 })).rejects.toThrow(/larger than the 2 MB upload limit/);
    expect(tmpEntries()).toEqual([]);
  });

  it("cleans up the temp file when the body fails mid-stream", async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield new TextEncoder().encode("partial");
      throw new Error("client went away");
    }
    await expect(store.put(RUN, "f.txt", broken(), MAX)).rejects.toThrow("client went away");
    expect(tmpEntries()).toEqual([]);
    expect(fs.existsSync(runDir())).toBe(false);
  });

  it("refuses to turn a directory into a file or put a file under a file", async () => {
    await store.put(RUN, "a/b/c.txt", body("x"), MAX);
    await expect(store.put(RUN, "a/b", body("y"), MAX)).rejects.toMatchObject({ code: "conflict", message: expect.stringMatching(/folder/) });
    await expect(store.put(RUN, "a/b/c.txt/d", body("y"), MAX)).rejects.toMatchObject({
      code: "conflict",
      message: expect.stringContaining('"a/b/c.txt" is a file'),
    });
    expect(await store.list(RUN, "a/b")).toEqual([{ path: "a/b/c.txt", is_dir: false, file_size: 1 }]);
    expect(tmpEntries()).toEqual([]);
  });

  it.each(ESCAPES)("refuses escape %j everywhere and touches nothing", async (raw) => {
    await store.put(RUN, "existing.txt", body("x"), MAX);
    const before = snapshot(tmp);
    const passwd = fs.existsSync("/etc/passwd") ? fs.statSync("/etc/passwd").mtimeMs : null;
    await expect(store.put(RUN, raw, body("pwned"), MAX)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(store.get(RUN, raw)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(store.list(RUN, raw)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(store.stat(RUN, raw)).rejects.toMatchObject({ code: "invalid_input" });
    expect(snapshot(tmp)).toEqual(before);
    expect(fs.existsSync("/etc/passwd") ? fs.statSync("/etc/passwd").mtimeMs : null).toBe(passwd);
  });

  it("does not follow a symlink that leads outside the store", async () => {
    await store.put(RUN, "real.txt", body("real"), MAX);
    fs.symlinkSync(outside, path.join(runDir(), "out"));
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(runDir(), "leak"));
    fs.symlinkSync(path.join(outside, "new-dir"), path.join(runDir(), "dangling"));
    const before = snapshot(tmp);

    for (const rel of ["out/secret.txt", "out", "leak", "dangling"]) {
      await expect(store.get(RUN, rel)).rejects.toMatchObject({ code: "invalid_input" });
      await expect(store.stat(RUN, rel)).rejects.toMatchObject({ code: "invalid_input" });
      await expect(store.list(RUN, rel)).rejects.toMatchObject({ code: "invalid_input" });
    }
    for (const rel of ["out/new.txt", "out/secret.txt", "leak", "dangling/x", "dangling"]) {
      await expect(store.put(RUN, rel, body("pwned"), MAX)).rejects.toMatchObject({ code: "invalid_input" });
    }
    expect(await store.list(RUN, "")).toEqual([{ path: "real.txt", is_dir: false, file_size: 4 }]);
    expect(snapshot(tmp)).toEqual(before);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("secret");
    expect(tmpEntries()).toEqual([]);
  });

  it("does not follow a symlink planted in place of a root folder or the staging folder", async () => {
    fs.mkdirSync(baseDir);
    fs.symlinkSync(outside, path.join(baseDir, "evil"));
    const before = snapshot(tmp);
    const root = ["evil", "1", "run"];
    await expect(store.put(root, "x.txt", body("pwned"), MAX)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(store.get(["evil", "secret.txt"], "")).rejects.toMatchObject({ code: "invalid_input" });
    await expect(store.list(["evil"], "")).rejects.toMatchObject({ code: "invalid_input" });
    expect(snapshot(tmp)).toEqual(before);

    fs.symlinkSync(outside, path.join(baseDir, ".tmp"));
    await expect(store.put(RUN, "x.txt", body("pwned"), MAX)).rejects.toThrow(/staging folder/);
    expect(fs.readdirSync(outside)).toEqual(["secret.txt"]);
    expect(fs.existsSync(path.join(runDir(), "x.txt"))).toBe(false);
  });

  it("treats a symlink inside the store as absent rather than following it", async () => {
    await store.put(RUN, "real.txt", body("real"), MAX);
    await store.put(RUN, "folder/inner.txt", body("inner"), MAX);
    fs.symlinkSync(path.join(runDir(), "real.txt"), path.join(runDir(), "alias.txt"));
    fs.symlinkSync(path.join(runDir(), "folder"), path.join(runDir(), "folder", "loop"));
    fs.symlinkSync(runDir(), path.join(runDir(), "folder", "to-root"));
    expect(await store.get(RUN, "alias.txt")).toBeNull();
    expect(await store.stat(RUN, "alias.txt")).toBeNull();
    expect(await store.list(RUN, "folder/loop")).toEqual([]);
    // The root itself is not "strictly inside" the root.
    await expect(store.list(RUN, "folder/to-root")).rejects.toMatchObject({ code: "invalid_input" });
    expect((await store.list(RUN, ""))?.map((e) => e.path)).toEqual(["folder", "real.txt"]);
    expect((await store.list(RUN, "folder"))?.map((e) => e.path)).toEqual(["folder/inner.txt"]);
    // Writing to the link's name replaces the link, not the file it pointed at.
    await store.put(RUN, "alias.txt", body("new"), MAX);
    expect(fs.lstatSync(path.join(runDir(), "alias.txt")).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(runDir(), "real.txt"), "utf8")).toBe("real");
  });

  it("accepts names with spaces, unicode and dots, and deep nesting, listing them in code point order", async () => {
    const deep = Array.from({ length: 30 }, (_, i) => `level${i}`).join("/");
    const names = [
      "my model/weights v1.bin",
      "データ/モデル.onnx",
      "emoji 🚀.txt",
      "model.v1.onnx",
      ".hidden",
      "..dots../c..",
      "résumé.txt",
      "Zeta.txt",
      "100% sure.txt",
      `${deep}/leaf.txt`,
    ];
    for (const name of names) {
      expect(await store.put(RUN, name, body(`content of ${name}`), MAX)).toEqual({ size: Buffer.byteLength(`content of ${name}`) });
    }
    for (const name of names) {
      expect(await text((await store.get(RUN, name))!.stream)).toBe(`content of ${name}`);
    }
    expect((await store.list(RUN, ""))?.map((e) => e.path)).toEqual([
      "..dots..", ".hidden", "100% sure.txt", "Zeta.txt", "emoji 🚀.txt", "level0", "model.v1.onnx", "my model", "résumé.txt", "データ",
    ]);
    expect(await store.list(RUN, deep)).toEqual([{ path: `${deep}/leaf.txt`, is_dir: false, file_size: Buffer.byteLength(`content of ${deep}/leaf.txt`) }]);
  });

  it("hides names on disk that the API could not address", async () => {
    await store.put(RUN, "ok.txt", body("ok"), MAX);
    fs.writeFileSync(path.join(runDir(), "bad#name"), "planted");
    fs.writeFileSync(path.join(runDir(), "bad\\name"), "planted");
    expect((await store.list(RUN, ""))?.map((e) => e.path)).toEqual(["ok.txt"]);
  });

  it("removes a root without touching its siblings, and tolerates a missing one", async () => {
    const other = ["churn", "12", "fedcba9876543210fedcba9876543210"];
    const model = ["churn", "12", "models", "m-0123abcd"];
    await store.put(RUN, "a/b.txt", body("x"), MAX);
    await store.put(other, "c.txt", body("y"), MAX);
    await store.put(model, "MLmodel", body("z"), MAX);
    fs.symlinkSync(outside, path.join(runDir(), "out"));
    await store.removeAll(RUN);
    expect(fs.existsSync(runDir())).toBe(false);
    expect(await store.list(RUN, "")).toEqual([]);
    expect(await store.list(other, "")).toEqual([{ path: "c.txt", is_dir: false, file_size: 1 }]);
    expect(await store.stat(model, "MLmodel")).toEqual({ is_dir: false, size: 1 });
    expect(fs.readdirSync(outside)).toEqual(["secret.txt"]);
    await expect(store.removeAll(RUN)).resolves.toBeUndefined();
  });

  it("rejects malformed server-chosen roots as bugs", async () => {
    for (const root of [[], [".."], ["churn", ".", "x"], ["churn/12"], [""], ["churn", "a b"], [".tmp", "x"], ["churn", "ü"]]) {
      await expect(store.put(root, "f", body("x"), MAX)).rejects.toThrow();
      await expect(store.list(root, "")).rejects.toThrow();
      await expect(store.removeAll(root)).rejects.toThrow();
    }
    await expect(store.removeAll([])).rejects.toThrow(/at least one segment/);
    expect(fs.existsSync(baseDir)).toBe(false);
  });
});
