#!/usr/bin/env node
// `npm start`: build when the sources are newer than the last build, then `next start` on $PORT.
// `npm run dev`: `next dev`. Both keep state under CAIRN_DATA_DIR (default .data/).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const nextBin = path.join(root, "node_modules", "next", "dist", "bin", "next");
const dev = process.argv.includes("--dev");
const port = process.env.PORT || "3000";
const childEnv = { ...process.env, AUTH_TRUST_HOST: process.env.AUTH_TRUST_HOST ?? "true" };

const SOURCES = ["app", "components", "lib", "server", "db", "public", "proxy.ts", "instrumentation.ts", "next.config.ts", "package.json", "package-lock.json", "postcss.config.mjs", "tsconfig.json"];

function newestMtime(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(p)) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    newest = Math.max(newest, newestMtime(path.join(p, entry)));
  }
  return newest;
}

function needsBuild() {
  const buildId = path.join(root, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return "no build yet";
  const built = statSync(buildId).mtimeMs;
  const changed = SOURCES.find((s) => newestMtime(path.join(root, s)) > built);
  return changed ? `${changed} changed since the last build` : null;
}

function run(args) {
  const child = spawn(process.execPath, [nextBin, ...args], { cwd: root, env: childEnv, stdio: "inherit" });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (dev) {
  run(["dev", "-p", port]);
} else {
  const reason = needsBuild();
  if (reason) {
    console.log(`[cairn] building (${reason}) — this takes a minute the first time…`);
    const build = spawnSync(process.execPath, [nextBin, "build"], { cwd: root, env: { ...childEnv, NODE_ENV: "production" }, stdio: "inherit" });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  console.log(`[cairn] starting on http://localhost:${port}`);
  run(["start", "-p", port]);
}
