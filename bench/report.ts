// The figures-vs-targets table (markdown), shared by the console output and bench/README.md.

export type Row = { target: string; measured: string; goal: string; pass: boolean | null };

export function verdict(pass: boolean | null): string {
  return pass === null ? "info" : pass ? "PASS" : "MISS";
}

export function markdownTable(rows: Row[]): string {
  const head = ["#", "Scenario", "Measured", "Target", "Result"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map((h) => (h === "Measured" || h === "Target" ? "---:" : "---")).join(" | ")} |`];
  rows.forEach((r, i) => lines.push(`| ${i + 1} | ${r.target} | ${r.measured} | ${r.goal} | ${verdict(r.pass)} |`));
  return lines.join("\n");
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
