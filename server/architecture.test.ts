// The service layer's shape (issue 13): no import cycles among server modules, approvals build on deployments
// and never the reverse, and no `await import()` stands in for a static import to hide a cycle. Read from the
// sources, so a change that breaks it fails here, naming the modules.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const SERVER = path.join(ROOT, "server");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.tsx?$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [p] : [];
  });
}

const files = sources(SERVER);
const known = new Set(files);
const rel = (p: string) => path.relative(ROOT, p);

function resolve(from: string, spec: string): string | null {
  const base = spec.startsWith("@/") ? path.join(ROOT, spec.slice(2)) : spec.startsWith(".") ? path.resolve(path.dirname(from), spec) : null;
  if (!base) return null;
  return [`${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")].find((c) => known.has(c)) ?? null;
}

/** Value imports (a `import type` is erased at build time and cannot make a cycle at run time). */
const graph = new Map(files.map((f) => {
  const src = readFileSync(f, "utf8");
  const deps = [...src.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)].filter((m) => !m[1]).map((m) => resolve(f, m[2]!)).filter((d): d is string => d !== null);
  return [f, deps] as const;
}));

function cycles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(rel(w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("the service layer's imports", () => {
  it("reads every server module", () => {
    expect(files.length).toBeGreaterThan(100);
    expect([...graph.values()].reduce((n, d) => n + d.length, 0)).toBeGreaterThan(300);
  });

  it("have no cycles", () => {
    expect(cycles()).toEqual([]);
  });

  it("go from approvals to deployments, never the reverse", () => {
    const back = files.filter((f) => f.startsWith(path.join(SERVER, "deployments") + path.sep)).flatMap((f) => graph.get(f)!.filter((d) => d.startsWith(path.join(SERVER, "approvals") + path.sep)).map((d) => `${rel(f)} → ${rel(d)}`));
    expect(back).toEqual([]);
    expect(graph.get(path.join(SERVER, "approvals", "service.ts"))).toContain(path.join(SERVER, "deployments", "prepare.ts"));
  });

  it("use no dynamic import except to load optional parts at start-up", () => {
    const dynamic = files.filter((f) => /await import\(|\bimport\(\s*["']/.test(readFileSync(f, "utf8"))).map(rel).sort();
    // Start-up loads the workers and Prometheus once; the worker runtime loads the Kubernetes client only on that backend;
    // tracing loads the OpenTelemetry SDK only when an OTLP endpoint is set.
    expect(dynamic).toEqual(["server/observability/tracing-setup.ts", "server/startup.ts", "server/workers/index.ts"]);
  });
});
