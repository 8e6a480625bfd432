import Link from "next/link";
import { buttonClass } from "@/components/ui/button";

// A GET form: filters live in the URL, so a filtered view is a shareable link.
export function AuditFilters({ teams, values }: { teams: string[]; values: Record<string, string> }) {
  const control = "rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-teal-600 focus:outline-none";
  return (
    <form method="get" action="/audit" className="flex flex-wrap items-end gap-3 rounded-lg border border-stone-200 bg-white p-3" aria-label="Filter audit events">
      <div className="text-xs text-stone-600"><label htmlFor="f-team">Team</label>
        <select id="f-team" name="team" defaultValue={values.team ?? ""} className={`mt-1 block ${control}`}>
          <option value="">All</option>
          {teams.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </div>
      <div className="text-xs text-stone-600"><label htmlFor="f-actor">Actor</label>
        <input id="f-actor" name="actor" defaultValue={values.actor ?? ""} placeholder="email" className={`mt-1 block w-44 ${control}`} />
      </div>
      <div className="text-xs text-stone-600"><label htmlFor="f-action">Action</label>
        <input id="f-action" name="action" defaultValue={values.action ?? ""} placeholder="token, team.create…" className={`mt-1 block w-44 ${control}`} />
      </div>
      <div className="text-xs text-stone-600"><label htmlFor="f-outcome">Outcome</label>
        <select id="f-outcome" name="outcome" defaultValue={values.outcome ?? ""} className={`mt-1 block ${control}`}>
          <option value="">Any</option>
          <option value="allowed">allowed</option>
          <option value="denied">denied</option>
          <option value="error">error</option>
        </select>
      </div>
      <div className="text-xs text-stone-600"><label htmlFor="f-since">Since</label>
        <input id="f-since" type="date" name="since" defaultValue={values.since?.slice(0, 10) ?? ""} className={`mt-1 block ${control}`} />
      </div>
      <button type="submit" className={buttonClass("primary", "sm")}>Apply</button>
      <Link href="/audit" className={buttonClass("ghost", "sm")}>Clear</Link>
    </form>
  );
}
