"use client";

import { Button } from "@/components/ui/button";

export default function PortalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div role="alert" className="mx-auto mt-16 max-w-lg rounded-lg border border-red-200 bg-white p-6 text-center">
      <h1 className="text-lg font-semibold text-stone-900">Something went wrong</h1>
      <p className="mt-2 text-sm text-stone-600">
        The page could not be loaded. Try again; if it keeps failing, report it with reference <code className="font-mono">{error.digest ?? "unknown"}</code>.
      </p>
      <Button className="mt-4" onClick={reset}>Try again</Button>
    </div>
  );
}
