#!/usr/bin/env node
// Generates the synthetic telco churn dataset the examples train on, deterministically (seeded PRNG), so the
// checked-in CSVs can be re-created byte for byte:
//
//   node examples/churn/generate-data.mjs           # (re)writes churn.csv and ../churn-python/churn.csv
//   node examples/churn/generate-data.mjs --check   # exits 1 if the checked-in files differ from what it generates
//
// The columns match the demo org's churn experiments (CHURN_FEATURES in db/seed/tracking.ts) plus the `churned`
// label. Churn is drawn from a logistic model over the features (with a non-linear tenure effect and noise the
// features cannot see), so a linear model reaches a validation AUC of roughly 0.83–0.87, not 1.0.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEED = 20240611;
const ROWS = 5000;
/** The Python example ships a smaller copy: the first rows of the same data. */
const PYTHON_ROWS = 2000;

export const COLUMNS = [
  "tenure_months", "monthly_charges", "total_charges", "contract", "payment_method", "internet_service",
  "tech_support", "senior_citizen", "support_tickets_90d", "avg_monthly_usage_gb", "paperless_billing", "churned",
];

/** mulberry32: a tiny, fast 32-bit PRNG; the same seed gives the same stream on every platform. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed) {
  const u = mulberry32(seed);
  const normal = () => {
    // Box–Muller; 1 - u() keeps log() away from 0.
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    return r * Math.cos(2 * Math.PI * u());
  };
  /** Picks from [value, weight] pairs. */
  const pick = (pairs) => {
    const total = pairs.reduce((s, [, w]) => s + w, 0);
    let x = u() * total;
    for (const [v, w] of pairs) if ((x -= w) < 0) return v;
    return pairs[pairs.length - 1][0];
  };
  const poisson = (lambda) => {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = u();
    while (p > limit) {
      k++;
      p *= u();
    }
    return k;
  };
  return { u, normal, pick, poisson };
}

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/** One customer. Relationships loosely follow the public IBM telco churn data. */
function customer(g) {
  const senior = g.u() < 0.16;
  // Tenure: many new customers, a bump of long-standing ones.
  const tenure = g.u() < 0.3 ? Math.floor(g.u() ** 1.6 * 12) : Math.round(clamp(6 + g.u() * 66 + g.normal() * 4, 0, 72));
  const contract = g.pick(
    tenure < 12 ? [["Month-to-month", 0.82], ["One year", 0.12], ["Two year", 0.06]]
      : tenure < 36 ? [["Month-to-month", 0.55], ["One year", 0.27], ["Two year", 0.18]]
        : [["Month-to-month", 0.3], ["One year", 0.27], ["Two year", 0.43]],
  );
  const internet = g.pick([["DSL", 0.34], ["Fiber optic", senior ? 0.6 : 0.44], ["None", senior ? 0.06 : 0.22]]);
  const techSupport = internet !== "None" && g.u() < (contract === "Month-to-month" ? 0.22 : 0.5);
  const paperless = g.u() < (senior ? 0.76 : 0.56);
  const payment = g.pick([
    ["Electronic check", paperless ? 0.42 : 0.22], ["Mailed check", paperless ? 0.14 : 0.36],
    ["Bank transfer (automatic)", 0.22], ["Credit card (automatic)", 0.22],
  ]);
  const base = internet === "None" ? 20 : internet === "DSL" ? 52 : 82;
  const monthly = clamp(base + (techSupport ? 9 : 0) + g.normal() * (internet === "None" ? 2.5 : 9), 18.25, 118.75);
  const total = tenure === 0 ? 0 : tenure * monthly * clamp(1 + g.normal() * 0.04, 0.85, 1.15);
  const usage = internet === "None" ? 0 : Math.max(0.5, Math.exp(Math.log(internet === "DSL" ? 55 : 140) + g.normal() * 0.45));
  const tickets = g.poisson(0.35 + (internet === "Fiber optic" ? 0.45 : 0) + (techSupport ? -0.15 : 0.2) + (senior ? 0.2 : 0));

  const z = -1.0
    - 0.9 * Math.log1p(tenure) + 1.3 // strongest effect: churn concentrates in the first months
    + (contract === "Month-to-month" ? 0.9 : contract === "One year" ? -0.35 : -1.2)
    + (internet === "Fiber optic" ? 0.55 : internet === "None" ? -0.6 : 0)
    + (payment === "Electronic check" ? 0.55 : payment === "Mailed check" ? 0.1 : -0.1)
    + (techSupport ? -0.55 : 0)
    + (senior ? 0.3 : 0)
    + (paperless ? 0.3 : 0)
    + 0.32 * tickets
    + 0.012 * (monthly - 65)
    - 0.003 * (usage - 60)
    + 0.5 * g.normal(); // what the features do not explain
  const churned = g.u() < sigmoid(z);

  return [
    tenure, monthly.toFixed(2), total.toFixed(2), contract, payment, internet,
    techSupport, senior, tickets, usage.toFixed(1), paperless, churned,
  ];
}

export function generateCsv(rows = ROWS, seed = SEED) {
  const g = generator(seed);
  const lines = [COLUMNS.join(",")];
  for (let i = 0; i < rows; i++) lines.push(customer(g).map(String).join(","));
  return `${lines.join("\n")}\n`;
}

function main() {
  const check = process.argv.includes("--check");
  const full = generateCsv(ROWS);
  const small = `${full.split("\n").slice(0, PYTHON_ROWS + 1).join("\n")}\n`;
  const targets = [
    [path.join(HERE, "churn.csv"), full],
    [path.join(HERE, "..", "churn-python", "churn.csv"), small],
  ];
  let stale = 0;
  for (const [file, text] of targets) {
    const rel = path.relative(process.cwd(), file);
    if (check) {
      let current = null;
      try {
        current = readFileSync(file, "utf8");
      } catch {
        /* missing */
      }
      if (current === text) console.log(`ok       ${rel}`);
      else {
        stale++;
        console.error(`${current === null ? "missing " : "differs "} ${rel} (regenerate with: node examples/churn/generate-data.mjs)`);
      }
    } else {
      writeFileSync(file, text);
      const churned = text.trimEnd().split("\n").slice(1).filter((l) => l.endsWith(",true")).length;
      const n = text.trimEnd().split("\n").length - 1;
      console.log(`wrote    ${rel}: ${n} rows, ${(Buffer.byteLength(text) / 1024).toFixed(0)} KB, churn rate ${(churned / n).toFixed(3)}`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
