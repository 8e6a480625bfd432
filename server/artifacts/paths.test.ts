import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PATH_ESCAPES } from "./escapes";
import { joinUnder, normalizeArtifactPath } from "./paths";

const ESCAPES = PATH_ESCAPES;

function refusal(raw: string, opts?: { allowEmpty?: boolean }): string {
  try {
    normalizeArtifactPath(raw, opts);
  } catch (err) {
    expect(err).toMatchObject({ name: "AppError", code: "invalid_input" });
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

describe("normalizeArtifactPath", () => {
  it.each(ESCAPES)("refuses escape %j", (raw) => {
    refusal(raw);
    refusal(raw, { allowEmpty: true });
  });

  it.each([
    ["..", /".."/],
    ["a/..", /".."/],
    ["a/.", /"\."/],
    [".", /"\."/],
    ["a%5cb", /percent-encoded/],
    ["a%41b", /percent-encoded/],
    ["a\\b", /backslash/],
    ["\\\\server\\share", /backslash/],
    ["http://example.com/x", /URI/],
    ["s3:bucket/x", /URI/],
    ["Z:x", /drive letter/],
    ["a\nb", /control character/],
    ["a\tb", /control character/],
    ["a\u007fb", /control character/],
    ["a\u001fb", /control character/],
    ["/", /absolute/],
    ["a//", /empty folder name/],
    ["a/b?x=1", /"#" or "\?"/],
  ])("refuses %j and says why", (raw, why) => {
    expect(refusal(raw)).toMatch(why);
  });

  it("escapes the offending path in the message so it cannot forge log lines", () => {
    const message = refusal("evil\nINFO forged line");
    expect(message).not.toContain("\n");
    expect(message).toContain("\\n");
  });

  it("refuses segments over 255 bytes and paths over 1024 bytes, counting UTF-8 bytes", () => {
    expect(normalizeArtifactPath("a".repeat(255))).toBe("a".repeat(255));
    expect(refusal("a".repeat(256))).toMatch(/255 bytes/);
    // 86 three-byte characters = 258 bytes, though only 86 UTF-16 units.
    expect(refusal("界".repeat(86))).toMatch(/255 bytes/);
    const long = Array.from({ length: 5 }, () => "b".repeat(200)).join("/"); // 1004 bytes
    expect(normalizeArtifactPath(long)).toBe(long);
    expect(refusal(`${long}/${"c".repeat(20)}`)).toMatch(/1024 bytes/);
  });

  it("accepts empty only when allowed", () => {
    expect(normalizeArtifactPath("", { allowEmpty: true })).toBe("");
    expect(refusal("")).toMatch(/empty/);
  });

  it.each([
    ["model.v1.onnx", "model.v1.onnx"],
    [".hidden", ".hidden"],
    ["a/.b/..c/c..", "a/.b/..c/c.."],
    ["...", "..."],
    ["my model/weights v1.bin", "my model/weights v1.bin"],
    ["データ/モデル.onnx", "データ/モデル.onnx"],
    ["emoji 🚀/résumé.txt", "emoji 🚀/résumé.txt"],
    ["100% done.txt", "100% done.txt"],
    ["a%zz", "a%zz"],
    ["model/", "model"],
    ["a/b/c/", "a/b/c"],
    ["MLmodel", "MLmodel"],
    ["x/a:b", "x/a:b"],
    [Array.from({ length: 40 }, (_, i) => `d${i}`).join("/"), Array.from({ length: 40 }, (_, i) => `d${i}`).join("/")],
  ])("accepts %j", (raw, expected) => {
    expect(normalizeArtifactPath(raw)).toBe(expected);
  });
});

describe("joinUnder", () => {
  let tmp: string;
  let root: string;
  let outside: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-paths-"));
    root = path.join(tmp, "root");
    outside = path.join(tmp, "outside");
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
  });

  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("resolves paths strictly inside root, existing or not", () => {
    expect(joinUnder(root, "a/b.txt")).toBe(path.join(root, "a", "b.txt"));
    fs.mkdirSync(path.join(root, "a"));
    expect(joinUnder(root, "a/b.txt")).toBe(path.join(root, "a", "b.txt"));
    expect(joinUnder(path.join(tmp, "not-yet"), "x")).toBe(path.join(tmp, "not-yet", "x"));
  });

  it("refuses the root itself, lexical escapes and absolute paths", () => {
    for (const rel of ["", ".", "..", "../outside/x", "a/../../x", "/etc/passwd"]) {
      expect(() => joinUnder(root, rel)).toThrow(expect.objectContaining({ code: "invalid_input" }));
    }
  });

  it("refuses paths that leave root through a symlink, including dangling ones", () => {
    fs.symlinkSync(outside, path.join(root, "out"));
    fs.symlinkSync(path.join(outside, "nothing-here"), path.join(root, "dangling"));
    fs.writeFileSync(path.join(outside, "secret.txt"), "secret");
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "leak"));
    for (const rel of ["out", "out/secret.txt", "out/new/dir/file", "dangling", "dangling/x", "leak"]) {
      expect(() => joinUnder(root, rel)).toThrow(expect.objectContaining({ code: "invalid_input" }));
    }
  });

  it("accepts a root that is itself reached through a symlink", () => {
    const alias = path.join(tmp, "alias");
    fs.symlinkSync(root, alias);
    expect(joinUnder(alias, "a/b")).toBe(path.join(alias, "a", "b"));
  });
});
