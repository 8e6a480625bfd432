// Pod log lines (`timestamps=true`: "<RFC3339Nano> <text>") appended to the job's log file without the
// timestamp, like the local executor's output. The timestamp of the last line written lets a follow
// that dropped resume with sinceTime and skip what was already written.
import { appendFileSync } from "node:fs";
import { Writable } from "node:stream";

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z /;

export type LogCursor = { lastKey: string | null; lastStamp: string | null };

export class PodLogWriter extends Writable {
  private partial = "";

  constructor(
    private readonly file: string,
    private readonly cursor: LogCursor,
  ) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = this.partial + chunk.toString();
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    this.append(lines);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.partial) this.append([this.partial]);
    this.partial = "";
    done();
  }

  private append(lines: string[]): void {
    let out = "";
    for (const line of lines) {
      const m = STAMP.exec(line);
      if (!m) {
        out += `${line}\n`;
        continue;
      }
      const key = `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}`;
      if (this.cursor.lastKey !== null && key <= this.cursor.lastKey) continue;
      this.cursor.lastKey = key;
      this.cursor.lastStamp = `${m[1]}${m[2] ? `.${m[2]}` : ""}Z`;
      out += `${line.slice(m[0].length)}\n`;
    }
    if (!out) return;
    try {
      appendFileSync(this.file, out);
    } catch {
      // the log is best effort, as in the local executor
    }
  }
}
