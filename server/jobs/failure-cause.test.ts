// The failure cause finder against logs as the local and Kubernetes executors write them.
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findFailureCause, readLogTail } from "./failure-cause";

const HEADER = ["", "=== attempt 1 started 2026-12-04T10:00:00.000Z: python train.py", "=== sandbox: isolated (uid 61234)"];
const footer = (how: string) => `=== attempt 1 ended 2026-12-04T10:01:00.000Z: ${how}`;
const log = (...lines: string[]) => ({ text: `${lines.join("\n")}\n`, firstLine: 1 });
const exit1 = { exitCode: 1, signal: null };

describe("findFailureCause", () => {
  it("takes a Python traceback's final exception line, with its line in the log", () => {
    const text = log(
      ...HEADER,
      "loading data from data/churn.csv",
      "epoch 1/3 loss=0.61",
      "Traceback (most recent call last):",
      '  File "/workspace/train.py", line 42, in <module>',
      "    main()",
      '  File "/workspace/train.py", line 30, in main',
      '    raise ValueError("bad data: column tenure is missing")',
      "ValueError: bad data: column tenure is missing",
      footer("exit code 1"),
    );
    expect(findFailureCause(text, exit1)).toEqual({ summary: "ValueError: bad data: column tenure is missing", kind: "exception", line: 11 });
  });

  it("takes the last exception of chained tracebacks", () => {
    const text = log(
      ...HEADER,
      "Traceback (most recent call last):",
      '  File "/workspace/train.py", line 8, in load',
      "    return frame['tenure']",
      "KeyError: 'tenure'",
      "",
      "During handling of the above exception, another exception occurred:",
      "",
      "Traceback (most recent call last):",
      '  File "/workspace/train.py", line 12, in <module>',
      "    load()",
      '  File "/workspace/train.py", line 10, in load',
      "    raise RuntimeError('could not load the training set') from None",
      "RuntimeError: could not load the training set",
      footer("exit code 1"),
    );
    const cause = findFailureCause(text, exit1);
    expect(cause).toMatchObject({ summary: "RuntimeError: could not load the training set", kind: "exception" });
    expect(text.text.split("\n")[cause.line! - 1]).toBe("RuntimeError: could not load the training set");
  });

  it("takes a Node error that has a stack below it", () => {
    const text = log(
      ...HEADER,
      "reading features…",
      "/workspace/train.js:14",
      "    throw new TypeError(`expected a number, got ${typeof v}`);",
      "    ^",
      "",
      "TypeError: expected a number, got undefined",
      "    at parseRow (/workspace/train.js:14:11)",
      "    at Array.map (<anonymous>)",
      "    at Object.<anonymous> (/workspace/train.js:20:22)",
      "",
      "Node.js v20.11.1",
      footer("exit code 1"),
    );
    expect(findFailureCause(text, exit1)).toEqual({ summary: "TypeError: expected a number, got undefined", kind: "exception", line: 9 });
  });

  it("calls a SIGKILL at the memory limit out of memory, and says how much", () => {
    const text = log(...HEADER, "allocating buffers", "epoch 1/10", footer("exit code 137"));
    const cause = findFailureCause(text, { exitCode: 137, signal: null, memory: { peakBytes: 3.95 * 1024 ** 3, limitBytes: 4 * 1024 ** 3 } });
    expect(cause).toEqual({ kind: "oom", summary: "out of memory: killed by SIGKILL; its memory reached 3.95 GiB of 4 GiB" });
  });

  it("reads Kubernetes' OOMKilled and the shell's Killed line as out of memory", () => {
    expect(findFailureCause(log(...HEADER, "step 3", footer("exit code 137")), { exitCode: 137, signal: null, oomKilled: true }))
      .toMatchObject({ kind: "oom", summary: expect.stringContaining("OOMKilled") });
    const killed = findFailureCause(log(...HEADER, "step 3", "Killed", footer("exit code 137")), { exitCode: 137, signal: null });
    expect(killed).toMatchObject({ kind: "oom", line: 5, summary: 'killed by SIGKILL, most likely out of memory (the log says "Killed")' });
    // "Killed" in a run that was not SIGKILLed is just output.
    expect(findFailureCause(log(...HEADER, "Killed 3 stale workers", footer("exit code 1")), exit1)).toEqual({ summary: "exited with code 1", kind: "exit" });
  });

  it("finds the out-of-memory lines of Python, C++, CUDA and Node", () => {
    const cases: [string[], string][] = [
      [["Traceback (most recent call last):", '  File "t.py", line 3, in <module>', "    x = bytearray(10**12)", "MemoryError"], "MemoryError"],
      [["terminate called after throwing an instance of 'std::bad_alloc'", "  what():  std::bad_alloc"], "what():  std::bad_alloc"],
      [["Traceback (most recent call last):", '  File "t.py", line 9, in <module>', "    model.cuda()", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB total capacity)"], "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB total capacity)"],
      [["Traceback (most recent call last):", '  File "train.py", line 88, in <module>', "XGBoostError: out of memory while building histogram"], "XGBoostError: out of memory while building histogram"],
      [["<--- Last few GCs --->", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", " 1: 0xb090e0 node::Abort() [node]"], "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"],
    ];
    for (const [lines, summary] of cases) {
      expect(findFailureCause(log(...HEADER, ...lines, footer("exit code 1")), { exitCode: 134, signal: null })).toMatchObject({ kind: "oom", summary });
    }
  });

  it("names a missing module, a missing command or file, and a refused permission", () => {
    const missing = log(...HEADER, "Traceback (most recent call last):", '  File "/workspace/train.py", line 1, in <module>', "    import lightgbm", "ModuleNotFoundError: No module named 'lightgbm'", footer("exit code 1"));
    expect(findFailureCause(missing, exit1)).toEqual({ summary: "ModuleNotFoundError: No module named 'lightgbm'", kind: "missing_module", line: 7 });
    const nodeModule = log(...HEADER, "node:internal/modules/cjs/loader:1228", "  throw err;", "  ^", "", "Error: Cannot find module 'lodash'", "Require stack:", "- /workspace/train.js", "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)", footer("exit code 1"));
    expect(findFailureCause(nodeModule, exit1)).toMatchObject({ summary: "Error: Cannot find module 'lodash'", kind: "missing_module" });
    const command = log(...HEADER, "/bin/sh: 1: pyhton: not found", footer("exit code 127"));
    expect(findFailureCause(command, { exitCode: 127, signal: null })).toEqual({ summary: "/bin/sh: 1: pyhton: not found", kind: "not_found", line: 4 });
    const bash = log(...HEADER, "warning: No such file or directory: ~/.cache (ignored)", "bash: line 1: trian.sh: command not found", footer("exit code 127"));
    expect(findFailureCause(bash, { exitCode: 127, signal: null })).toMatchObject({ summary: "bash: line 1: trian.sh: command not found", kind: "not_found" });
    const file = log(...HEADER, "python: can't open file '/workspace/trian.py': [Errno 2] No such file or directory", footer("exit code 2"));
    expect(findFailureCause(file, { exitCode: 2, signal: null })).toMatchObject({ kind: "not_found", line: 4 });
    const denied = log(...HEADER, "/bin/sh: 1: ./train.sh: Permission denied", footer("exit code 126"));
    expect(findFailureCause(denied, { exitCode: 126, signal: null })).toMatchObject({ kind: "permission", summary: "/bin/sh: 1: ./train.sh: Permission denied" });
  });

  it("reports a max-runtime stop as a timeout, whatever the log says", () => {
    const text = log(...HEADER, "epoch 41/100", "Traceback (most recent call last):", "  File \"x\", line 1", "KeyboardInterrupt", footer("timeout"));
    expect(findFailureCause(text, { exitCode: null, signal: "SIGTERM", reason: "timeout", maxRuntimeSeconds: 600 }))
      .toEqual({ kind: "timeout", summary: "stopped: exceeded its max runtime of 600 s (max_runtime_seconds)" });
  });

  it("falls back to the exit code or the signal when nothing in the log says more", () => {
    const plain = log(...HEADER, "epoch 1/3 loss=0.61", "epoch 2/3 loss=0.55", footer("exit code 1"));
    expect(findFailureCause(plain, exit1)).toEqual({ summary: "exited with code 1", kind: "exit" });
    expect(findFailureCause(plain, { exitCode: null, signal: "SIGSEGV" })).toEqual({ summary: "killed by SIGSEGV", kind: "signal" });
    expect(findFailureCause(plain, { exitCode: 139, signal: null })).toEqual({ summary: "exited with code 139 (killed by SIGSEGV)", kind: "signal" });
    expect(findFailureCause({ text: "", firstLine: 1 }, exit1)).toEqual({ summary: "exited with code 1", kind: "exit" });
  });

  it("reads only the last attempt of a retried job", () => {
    const text = log(
      ...HEADER, "ValueError: first attempt's problem", footer("exit code 1"),
      "", "=== attempt 2 started 2026-12-04T10:02:00.000Z: python train.py", "=== sandbox: isolated (uid 61234)", "all fine until the end",
      footer("exit code 3"),
    );
    expect(findFailureCause(text, { exitCode: 3, signal: null })).toEqual({ summary: "exited with code 3", kind: "exit" });
  });

  it("strips terminal colours and clips very long lines", () => {
    const text = log(...HEADER, "\x1b[31mRuntimeError: \x1b[0m" + "x".repeat(500), footer("exit code 1"));
    const cause = findFailureCause(text, exit1);
    expect(cause.summary.startsWith("RuntimeError: xxx")).toBe(true);
    expect(cause.summary.length).toBeLessThanOrEqual(300);
  });
});

describe("readLogTail", () => {
  it("reads the last 64 KB from a whole line and numbers it in the whole log", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cairn-tail-"));
    const file = path.join(dir, "output.log");
    writeFileSync(file, "");
    for (let i = 1; i <= 5000; i++) appendFileSync(file, `line ${i} ${"·".repeat(20)}\n`);
    appendFileSync(file, "ValueError: at the end\n");
    const tail = readLogTail(file);
    expect(Buffer.byteLength(tail.text)).toBeLessThanOrEqual(64 * 1024);
    const first = tail.text.split("\n")[0]!;
    expect(first).toMatch(/^line \d+ ·+$/);
    expect(tail.firstLine).toBe(Number(first.split(" ")[1]));
    expect(findFailureCause(tail, exit1)).toEqual({ summary: "ValueError: at the end", kind: "exception", line: 5001 });
    expect(readLogTail(path.join(dir, "missing.log"))).toEqual({ text: "", firstLine: 1 });
  });
});
