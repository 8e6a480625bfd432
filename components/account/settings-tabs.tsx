"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "@/components/ui/cn";

const TABS = [
  { href: "/settings/tokens", label: "API tokens" },
  { href: "/settings/security", label: "Security" },
];

/** The settings pages' tabs. */
export function SettingsTabs() {
  const pathname = usePathname();
  return (
    <nav aria-label="Settings" className="flex gap-1 border-b border-stone-200">
      {TABS.map((t) => {
        const active = pathname === t.href;
        return (
          <Link
            key={t.href}
            href={t.href}
            aria-current={active ? "page" : undefined}
            className={cn("-mb-px border-b-2 px-3 py-2 text-sm", active ? "border-teal-700 font-medium text-teal-900" : "border-transparent text-stone-600 hover:text-stone-900")}
          >
            {t.label}
          </Link>
        );
      })}
    </nav>
  );
}
