import Link from "next/link";
import type { ReactNode } from "react";
import { buttonClass } from "@/components/ui/button";

export function StatusPage({ code, title, children }: { code: string; title: string; children: ReactNode }) {
  return (
    <div className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
      <p className="font-mono text-sm font-semibold text-teal-700">{code}</p>
      <h1 className="mt-2 text-2xl font-semibold text-stone-900">{title}</h1>
      <div className="mt-2 max-w-md text-sm text-stone-600">{children}</div>
      <Link href="/" className={`${buttonClass("secondary")} mt-6`}>Back to the overview</Link>
    </div>
  );
}
