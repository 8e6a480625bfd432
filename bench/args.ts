// Command-line options of the benchmark (no environment variables: see eslint's process.env rule).
export type BenchOptions = {
  /** Admin connection to the PostgreSQL server; the bench creates and drops its own database there. */
  pgUrl: string;
  runs: number;
  params: number;
  metrics: number;
  tags: number;
  /** Timed iterations per read scenario (search, sampled history). */
  iterations: number;
  /** Sequential log-batch requests of 1000 metrics. */
  ingestBatches: number;
  /** Concurrent clients and requests per client for the 10-metric batches. */
  clients: number;
  requestsPerClient: number;
  historyPoints: number;
  /** Keep the database afterwards (prints its name) instead of dropping it. */
  keep: boolean;
  /** Only create and load the database, then keep it (for EXPLAIN / experiments by hand). */
  loadOnly: boolean;
  out: string;
};

const DEFAULTS: BenchOptions = {
  pgUrl: "postgres://postgres@127.0.0.1:5432/postgres",
  runs: 100_000,
  params: 20,
  metrics: 20,
  tags: 10,
  iterations: 50,
  ingestBatches: 100,
  clients: 20,
  requestsPerClient: 50,
  historyPoints: 1_000_000,
  keep: false,
  loadOnly: false,
  out: "bench/results.json",
};

const NUMERIC = ["runs", "params", "metrics", "tags", "iterations", "ingestBatches", "clients", "requestsPerClient", "historyPoints"] as const;

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `--runs=1000 --iterations 20 --keep --pg-url=postgres://…` */
export function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new Error(`Unexpected argument ${arg}`);
    const [rawName, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const name = camel(rawName);
    if (name === "keep") { opts.keep = true; continue; }
    if (name === "loadOnly") { opts.loadOnly = true; opts.keep = true; continue; }
    if (name === "help") {
      console.log(`usage: npx tsx bench/run.ts [--pg-url=URL] [--runs=N] [--iterations=N] [--ingest-batches=N] [--clients=N] [--requests-per-client=N] [--history-points=N] [--keep] [--load-only] [--out=FILE]`);
      process.exit(0);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${rawName} needs a value`);
    if (name === "pgUrl") opts.pgUrl = value;
    else if (name === "out") opts.out = value;
    else if ((NUMERIC as readonly string[]).includes(name)) {
      const n = Number(value.replace(/_/g, ""));
      if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${rawName} must be a positive integer`);
      opts[name as (typeof NUMERIC)[number]] = n;
    } else throw new Error(`Unknown option --${rawName}`);
  }
  return opts;
}

/** `--name value` from the command line, or `fallback` (the smaller benches' options). */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
