import Link from "next/link";
import { buttonClass } from "@/components/ui/button";

// A GET form: filters live in the URL, so a filtered view is a shareable link.
export function AuditFilters({ teams, values }: { teams: string[]; values: Record<string, string> }) {
  const control = "rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-teal-600 focus:outline-none";
  return (
    <form method="get" action="/audit" className="flex flex-wrap items-end gap-3 rounded-lg border border-stone-200 bg-white p-3" aria-label="Filter audit events">
      <label className="text-xs text-stone-600">Team
        <select name="team" defaultValue={values.team ?? ""} className={`mt-1 block ${control}`}>
          <option value="">All</option>
          {teams.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </label>
      <label className="text-xs text-stone-600">Actor
        <input name="actor" defaultValue={values.actor ?? ""} placeholder="email" className={`mt-1 block w-44 ${control}`} />
      </label>
      <label className="text-xs text-stone-600">Action
        <input name="action" defaultValue={values.action ?? ""} placeholder="token, team.create…" className={`mt-1 block w-44 ${control}`} />
      </label>
      <label className="text-xs text-stone-600">Outcome
        <select name="outcome" defaultValue={values.outcome ?? ""} className={`mt-1 block ${control}`}>
          <option value="">Any</option>
          <option value="allowed">allowed</option>
          <option value="denied">denied</option>
          <option value="error">error</option>
        </select>
      </label>
      <label className="text-xs text-stone-600">Since
        <input type="date" name="since" defaultValue={values.since?.slice(0, 10) ?? ""} className={`mt-1 block ${control}`} />
      </label>
      <button type="submit" className={buttonClass("primary", "sm")}>Apply</button>
      <Link href="/audit" className={buttonClass("ghost", "sm")}>Clear</Link>
    </form>
  );
}
