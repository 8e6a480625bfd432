// Tests: a real Prometheus (the Debian binary CI installs) with the scrape jobs a test writes, on a port the test
// chose — for scrape setups the managed Prometheus does not write (other exporters, honor_labels, target labels).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export { freePort } from "../prometheus";

/** Starts Prometheus on 127.0.0.1:`port` with `scrapeConfigs` (YAML list items, indented as under scrape_configs:). */
export async function startTestPrometheus(opts: { binary: string; dir: string; port: number; scrapeConfigs: string; intervalSeconds?: number }): Promise<{ url: string; stop: () => Promise<void> }> {
  mkdirSync(path.join(opts.dir, "data"), { recursive: true });
  const config = path.join(opts.dir, "prometheus.yml");
  const interval = opts.intervalSeconds ?? 1;
  writeFileSync(config, `global:\n  scrape_interval: ${interval}s\n  evaluation_interval: ${interval}s\nscrape_configs:\n${opts.scrapeConfigs}\n`);
  const child = spawn(opts.binary, [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(opts.dir, "data")}`, `--web.listen-address=127.0.0.1:${opts.port}`, "--log.level=warn",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited: ${stderr.trim()}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ready) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
