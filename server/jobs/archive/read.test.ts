// Reading code archives: zips and tars as real tools make them (and as attackers make them), every
// refusal with a message that says what is wrong, unwrapping of a single top folder, and the .tar.gz
// the code route serves unpacking with GNU tar to the same content.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { tarGzStream } from "../tar";
import { tarGzOf, tarOf, zipOf } from "../testing/archives";
import type { ArchiveEntry } from "./entries";
import { MAX_ENTRIES } from "./entries";
import { archiveContent, inspectArchive } from "./read";

const LIMITS = { maxEntries: MAX_ENTRIES, maxUnpackedBytes: 1024 * 1024 };
const scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-archive-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Archives are read from files: each buffer gets its own. */
let written = 0;
function fileOf(buf: Buffer): string {
  const file = path.join(scratch, `archive-${++written}`);
  writeFileSync(file, buf);
  return file;
}

async function text(data: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of data) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

async function content(buf: Buffer, limits = LIMITS): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of archiveContent(fileOf(buf), limits)) out[e.path] = e.type === "dir" ? "<dir>" : await text(e.data);
  return out;
}

/** Every entry with its data read. */
async function entriesOf(buf: Buffer, limits = LIMITS): Promise<(Omit<ArchiveEntry, "data"> & { text: string })[]> {
  const out: (Omit<ArchiveEntry, "data"> & { text: string })[] = [];
  for await (const { data, ...e } of archiveContent(fileOf(buf), limits)) out.push({ ...e, text: await text(data) });
  return out;
}

const inspect = (buf: Buffer, limits = LIMITS) => inspectArchive(fileOf(buf), limits);
const refusal = (buf: Buffer, limits = LIMITS) => inspect(buf, limits).then(() => "accepted", (err: Error & { code?: string }) => `${err.code}: ${err.message}`);
const tarGz = async (buf: Buffer) => Buffer.concat(await tarGzStream(archiveContent(fileOf(buf), LIMITS)).toArray());

describe("reading", () => {
  it("reads a zip (stored and deflated entries) and its cairn.json", async () => {
    const zip = zipOf([
      { name: "cairn.json", data: JSON.stringify({ name: "t", command: ["node", "train.mjs"] }) },
      { name: "train.mjs", data: "console.log('hi')", mode: 0o100755 },
      { name: "data/", method: 0 },
      { name: "data/rows.csv", data: "a,b\n1,2\n".repeat(100), method: 0 },
      // Entries after a stored one (zip -r stores what does not shrink) are read from the same open file.
      { name: "data/more.csv", data: "c\n3\n".repeat(50) },
      { name: "README", data: "r", method: 0 },
    ]);
    expect(await inspect(zip)).toEqual({ format: "zip", files: 5, unpackedBytes: expect.any(Number), root: null, defaultCommand: ["node", "train.mjs"] });
    const entries = await entriesOf(zip);
    expect(entries.find((e) => e.path === "train.mjs")).toMatchObject({ type: "file", executable: true });
    expect(entries.find((e) => e.path === "data/rows.csv")?.text).toBe("a,b\n1,2\n".repeat(100));
    expect(entries.find((e) => e.path === "data/more.csv")?.text).toBe("c\n3\n".repeat(50));
    expect(entries.find((e) => e.path === "README")?.text).toBe("r");
  });

  it("reads what GNU tar makes, with ./ prefixes, long names (GNU and pax) and executable bits", async () => {
    const dir = path.join(scratch, "gnu");
    const deep = path.join(dir, "a".repeat(90), "b".repeat(90));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, `${"c".repeat(120)}.py`), "print('deep')");
    writeFileSync(path.join(dir, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    for (const format of ["gnu", "posix"]) {
      const file = path.join(scratch, `gnu-${format}.tar.gz`);
      execFileSync("tar", [`--format=${format}`, "-czf", file, "-C", dir, "."]);
      const buf = readFileSync(file);
      expect((await inspect(buf)).files).toBe(2);
      const entries = await entriesOf(buf);
      expect(entries.find((e) => e.path === `${"a".repeat(90)}/${"b".repeat(90)}/${"c".repeat(120)}.py`)?.text).toBe("print('deep')");
      expect(entries.find((e) => e.path === "run.sh")).toMatchObject({ executable: true });
    }
  });

  const hasZip = (() => {
    try {
      execFileSync("zip", ["-v"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(hasZip)("reads what Info-ZIP's `zip -r` makes: folder entries, stored and deflated files", async () => {
    const dir = path.join(scratch, "infozip");
    mkdirSync(path.join(dir, "proj", "sub"), { recursive: true });
    writeFileSync(path.join(dir, "proj", "train.py"), "print(1)");
    writeFileSync(path.join(dir, "proj", "cairn.json"), '{"command": ["python", "train.py"]}');
    writeFileSync(path.join(dir, "proj", "sub", "rows.csv"), "a,b\n1,2\n".repeat(1000));
    execFileSync("zip", ["-qr", "code.zip", "proj"], { cwd: dir });
    const buf = readFileSync(path.join(dir, "code.zip"));
    expect(await inspect(buf)).toEqual({ format: "zip", files: 3, unpackedBytes: 8043, root: "proj", defaultCommand: ["python", "train.py"] });
    expect(await content(buf)).toEqual({ "train.py": "print(1)", "cairn.json": '{"command": ["python", "train.py"]}', sub: "<dir>", "sub/rows.csv": "a,b\n1,2\n".repeat(1000) });
  });

  it("unwraps a single top-level folder (GitHub's Download ZIP) and reads its cairn.json; leaves __MACOSX out", async () => {
    const zip = zipOf([
      { name: "repo-main/" },
      { name: "repo-main/cairn.json", data: '{"command": ["python", "train.py"]}' },
      { name: "repo-main/train.py", data: "print(1)" },
      { name: "repo-main/src/util.py", data: "x = 1" },
      { name: "__MACOSX/repo-main/._train.py", data: "junk" },
    ]);
    expect(await inspect(zip)).toMatchObject({ root: "repo-main", files: 3, defaultCommand: ["python", "train.py"] });
    expect(await content(zip)).toEqual({ "cairn.json": '{"command": ["python", "train.py"]}', "train.py": "print(1)", "src/util.py": "x = 1" });
    // Two top-level entries: nothing is unwrapped, and a cairn.json one level down is not the manifest.
    const two = tarGzOf([{ name: "pkg/cairn.json", data: '{"command": ["x"]}' }, { name: "README.md", data: "r" }]);
    expect(await inspect(two)).toMatchObject({ root: null, defaultCommand: null });
    // A single top-level file is not a folder to unwrap.
    expect(await content(zipOf([{ name: "train.py", data: "p" }]))).toEqual({ "train.py": "p" });
  });

  it("writes a .tar.gz that GNU tar unpacks to the same content, long paths included", async () => {
    const zip = zipOf([
      { name: "proj/train.py", data: "print('x')", mode: 0o100755 },
      { name: `proj/${"d".repeat(150)}/${"e".repeat(150)}/f.txt`, data: "long" },
      { name: "proj/empty/" },
    ]);
    const out = path.join(scratch, "roundtrip");
    mkdirSync(out);
    writeFileSync(path.join(scratch, "rt.tar.gz"), await tarGz(zip));
    execFileSync("tar", ["-xzf", path.join(scratch, "rt.tar.gz"), "-C", out]);
    expect(readFileSync(path.join(out, "train.py"), "utf8")).toBe("print('x')");
    expect(statSync(path.join(out, "train.py")).mode & 0o111).not.toBe(0);
    expect(readFileSync(path.join(out, "d".repeat(150), "e".repeat(150), "f.txt"), "utf8")).toBe("long");
    expect(statSync(path.join(out, "empty")).isDirectory()).toBe(true);
    // And Cairn's own reader agrees.
    expect(await content(await tarGz(zip))).toEqual(await content(zip));
  });
});

describe("refusing", () => {
  const file = (name: string) => ({ name, data: "x" });
  const cases: [string, Buffer, RegExp][] = [
    ["plain text", Buffer.from("print('not an archive')"), /neither a zip file nor a gzip-compressed tar/],
    ["a gzip'd text file", gzipSync("just text, not a tar archive at all".repeat(20)), /does not hold a tar archive/],
    ["a truncated zip", zipOf([file("a.py"), file("b.py")]).subarray(0, 60), /not a readable zip file/],
    ["a truncated tar.gz", tarGzOf([{ name: "a.py", data: "x".repeat(5000) }]).subarray(0, 40), /not a readable gzip file|ends in the middle/],
    ["a zip entry with a wrong CRC", zipOf([{ ...file("a.py"), claimedCrc: 1234 }]), /checksum of "a.py" does not match/],
    ["a zip entry larger than it claims", zipOf([{ name: "bomb.bin", data: Buffer.alloc(50_000), claimedSize: 100 }]), /"bomb.bin" unpacks to more than the 100 bytes it claims/],
    ["zip ..", zipOf([file("../evil.py")]), /"\.\.\/evil.py" has a "\.\." segment/],
    ["zip .. in the middle", zipOf([file("ok/../../evil.py")]), /has a "\.\." segment/],
    ["zip backslash ..", zipOf([file("..\\..\\evil.py")]), /has a "\.\." segment/],
    ["zip absolute", zipOf([file("/etc/cron.d/evil")]), /has an absolute path/],
    ["zip backslash absolute", zipOf([file("\\windows\\evil")]), /has an absolute path/],
    ["zip drive", zipOf([file("C:\\Users\\evil.py")]), /starts with a drive letter/],
    ["zip drive (slash)", zipOf([file("c:/evil.py")]), /starts with a drive letter/],
    ["zip NUL", zipOf([file("ok.py\0../../evil")]), /NUL character/],
    ["zip symlink", zipOf([{ name: "link", data: "/etc/passwd", mode: 0o120777 }]), /"link" is a symbolic link/],
    ["zip device", zipOf([{ name: "dev", mode: 0o020644 }]), /"dev" is a device, pipe or socket/],
    ["zip encrypted", zipOf([{ ...file("secret.py"), flags: 1 }]), /"secret.py" is encrypted/],
    ["zip duplicate", zipOf([file("a.py"), file("./a.py")]), /"a.py" appears twice/],
    ["zip file and folder", zipOf([file("a"), file("a/b.py")]), /"a" is both a file and a folder/],
    ["zip without files", zipOf([{ name: "empty/" }]), /holds no files/],
    ["tar ..", tarGzOf([file("../../evil.py")]), /has a "\.\." segment/],
    ["tar absolute", tarGzOf([file("/etc/passwd")]), /has an absolute path/],
    ["tar GNU long name escaping", tarGzOf([{ name: "././@LongLink", type: "L", data: `${"x/".repeat(60)}${"../".repeat(70)}evil\0` }, file("placeholder")]), /has a "\.\." segment/],
    ["tar pax path escaping", tarGzOf([{ name: "PaxHeader", type: "x", data: "25 path=../../etc/shadow\n" }, file("placeholder")]), /"\.\.\/\.\.\/etc\/shadow" has a "\.\." segment/],
    ["tar pax path with NUL", tarGzOf([{ name: "PaxHeader", type: "x", data: "20 path=ok\0/../x.py\n" }, file("placeholder")]), /NUL character/],
    ["tar symlink", tarGzOf([{ name: "link", type: "2", linkname: "/etc/passwd" }]), /"link" is a symbolic link/],
    ["tar hard link", tarGzOf([{ name: "hard", type: "1", linkname: "/etc/passwd" }]), /"hard" is a hard link/],
    ["tar character device", tarGzOf([{ name: "tty", type: "3" }]), /"tty" is a device or pipe/],
    ["tar block device", tarGzOf([{ name: "sda", type: "4" }]), /"sda" is a device or pipe/],
    ["tar FIFO", tarGzOf([{ name: "pipe", type: "6" }]), /"pipe" is a device or pipe/],
    ["tar with a broken header checksum", (() => { const t = tarOf([file("a.py"), file("b.py")]); t[1024] = 0x41; return gzipSync(t); })(), /checksum does not match/],
    ["tar with data after its end", gzipSync(Buffer.concat([tarOf([file("a.py")]), Buffer.from("trailing garbage")])), /data after the end of the archive/],
    ["a broken cairn.json", zipOf([{ name: "cairn.json", data: "{command: [" }, file("a.py")]), /cairn.json is not valid JSON/],
    ["a cairn.json command that is not a list of strings", zipOf([{ name: "cairn.json", data: '{"command": "python train.py"}' }, file("a.py")]), /"command" of cairn.json must be a list/],
  ];
  it.each(cases)("%s", async (_what, buf, message) => {
    const answer = await refusal(buf);
    expect(answer).toMatch(/^invalid_input: The archive was refused: /);
    expect(answer).toMatch(message);
  });

  it("more than 10,000 entries", async () => {
    const many = Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => ({ name: `f${i}`, method: 0 as const }));
    expect(await refusal(zipOf(many))).toMatch(/more than 10,000 entries/);
    expect(await refusal(tarGzOf(many))).toMatch(/more than 10,000 entries/);
    expect(await refusal(zipOf(many.slice(0, MAX_ENTRIES)))).toBe("accepted");
  });

  it("more unpacked data than the limit: refused from the stated sizes before inflating, or by the running count", async () => {
    const small = { maxEntries: MAX_ENTRIES, maxUnpackedBytes: 10_000, unpackedSetting: "CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB" };
    // Zeros compress about 1000:1: both archives are tiny on the wire.
    const zip = zipOf([{ name: "zeros.bin", data: Buffer.alloc(2_000_000) }]);
    const tgz = tarGzOf([{ name: "zeros.bin", data: Buffer.alloc(2_000_000) }]);
    expect(zip.length).toBeLessThan(10_000);
    expect(tgz.length).toBeLessThan(10_000);
    const overLimit = /^invalid_input: The archive was refused: it would unpack to at least 1.9 MB \(2,000,000 bytes\), more than the limit of 9.8 KB unpacked, CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB\./;
    expect(await refusal(zip, small)).toMatch(overLimit);
    expect(await refusal(tgz, small)).toMatch(overLimit);
    // A zip that states small sizes and inflates to more: the count of what comes out of inflate stops it.
    const lying = zipOf([{ name: "a.py", data: "print(1)" }, { name: "zeros.bin", data: Buffer.alloc(2_000_000), claimedSize: 5_000 }]);
    expect(await refusal(lying, small)).toMatch(/"zeros.bin" unpacks to more than the 5,000 bytes it claims/);
    // Nothing but pax headers, megabytes of them: a bomb of another shape, stopped by the count of gunzip's output.
    const paxOnly = tarGzOf(Array.from({ length: 5000 }, () => ({ name: "PaxHeader", type: "x", data: "12 a=bcdefg\n" })));
    expect(await refusal(paxOnly, { maxEntries: 5, maxUnpackedBytes: 100 })).toMatch(/would unpack to at least [\d.]+ [KM]B \([\d,]+ bytes\), more than the limit of 100 bytes unpacked/);
    // Megabytes of zeros after the end of the archive.
    const padded = gzipSync(Buffer.concat([tarOf([file("a.py")]), Buffer.alloc(5_000_000)]));
    expect(await refusal(padded)).toMatch(/data after the end of the archive/);
    // Under the limit, the same archives are read.
    const roomy = { ...small, maxUnpackedBytes: 2_000_000 };
    expect(await refusal(zip, roomy)).toBe("accepted");
    expect(await refusal(tgz, roomy)).toBe("accepted");
  });
});
