import type { JobFailure } from "@/lib/schemas/jobs";

const HINT: Partial<Record<JobFailure["kind"], string>> = {
  oom: "Ask for more memory (a larger instance type, or resources.memory_gib) and run it again.",
  timeout: "Raise max_runtime_seconds, or have the job save checkpoints it can resume from.",
  missing_module: "The job's environment lacks this module: add it to the image, or to what the job installs before it starts.",
};

/** A failed job's cause, read from its log when it ended, with a link to the log line it came from. */
export function FailureBanner({ failure, message }: { failure: JobFailure; message: string | null }) {
  const hint = HINT[failure.kind];
  return (
    <div role="alert" aria-label="Why the job failed" className="space-y-1 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">
      <p>
        <span className="font-semibold">Failed:</span> <span className="font-mono break-words">{failure.summary}</span>
        {failure.line !== undefined && (
          <> (<a href={`#log-L${failure.line}`} className="underline">line {failure.line} of the log</a>)</>
        )}
      </p>
      {/* How the process ended, when the cause came from its log (else the summary already says it). */}
      {message && !["exit", "signal", "timeout"].includes(failure.kind) && <p className="text-xs text-red-800">Process: {message}</p>}
      {hint && <p className="text-xs text-red-800">{hint}</p>}
    </div>
  );
}
