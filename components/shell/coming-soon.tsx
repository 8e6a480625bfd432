import type { ReactNode } from "react";
import { PageHeader } from "@/components/ui/page-header";

export function ComingSoon({ title, description, planned }: { title: string; description: string; planned: ReactNode[] }) {
  return (
    <div>
      <PageHeader title={title} description={description} />
      <div className="rounded-lg border border-dashed border-stone-300 bg-white p-8">
        <p className="inline-flex items-center rounded-full bg-amber-50 px-2.5 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200">Not built yet — coming soon</p>
        <p className="mt-4 text-sm text-stone-700">This page is planned but not built. When it is, it will offer:</p>
        <ul className="mt-2 list-disc space-y-1 pl-5 text-sm text-stone-600">
          {planned.map((p, i) => <li key={i}>{p}</li>)}
        </ul>
      </div>
    </div>
  );
}
