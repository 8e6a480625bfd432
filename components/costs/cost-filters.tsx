import { buttonClass } from "@/components/ui/button";
import { COST_GROUPS } from "./types";

const WINDOWS = [
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "90d", label: "Last 90 days" },
];

const SELECT = "mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm";

/**
 * The cost query as a GET form, so every view is a shareable URL. A value typed into the URL that
 * the menus do not offer (say 12w) stays selected rather than silently changing.
 */
export function CostFilters({ values, teams, allLabel }: { values: { window: string; aggregate: string; team: string }; teams: string[]; allLabel: string }) {
  const windows = WINDOWS.some((w) => w.value === values.window) ? WINDOWS : [...WINDOWS, { value: values.window, label: values.window }];
  const teamOptions = values.team !== "all" && !teams.includes(values.team) ? [...teams, values.team] : teams;
  return (
    <form method="get" className="flex flex-wrap items-end gap-3" role="search" aria-label="Filter costs">
      <div>
        <label htmlFor="cost-window" className="block text-xs text-stone-600">Window</label>
        <select id="cost-window" name="window" defaultValue={values.window} className={SELECT}>
          {windows.map((w) => <option key={w.value} value={w.value}>{w.label}</option>)}
        </select>
      </div>
      <div>
        <label htmlFor="cost-aggregate" className="block text-xs text-stone-600">Group by</label>
        <select id="cost-aggregate" name="aggregate" defaultValue={values.aggregate} className={SELECT}>
          {COST_GROUPS.map((g) => <option key={g.value} value={g.value}>{g.label}</option>)}
        </select>
      </div>
      <div>
        <label htmlFor="cost-team" className="block text-xs text-stone-600">Team filter</label>
        <select id="cost-team" name="team" defaultValue={values.team} className={SELECT}>
          <option value="all">{allLabel}</option>
          {teamOptions.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </div>
      <button type="submit" className={buttonClass("secondary", "sm")}>Apply</button>
    </form>
  );
}
