// The shapes the cost components take: what GET /api/v1/costs answers, kept local so components
// never import the server.
import type { BudgetStateDto } from "@/lib/schemas/costs";

export type CostGroup = "team" | "user" | "resource" | "kind" | "run" | "deployment";

export const COST_GROUPS: { value: CostGroup; label: string }[] = [
  { value: "team", label: "Team" },
  { value: "user", label: "User" },
  { value: "resource", label: "Resource" },
  { value: "kind", label: "Kind" },
  { value: "run", label: "Run" },
  { value: "deployment", label: "Deployment" },
];

export type CostTotal = { key: string; amount: number };
export type CostSeries = { key: string; points: [number, number][] };
/** A team's month against its budget steps, as GET /api/v1/costs answers it. */
export type TeamBudget = BudgetStateDto;
