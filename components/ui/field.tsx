import type { InputHTMLAttributes, ReactNode, Ref, SelectHTMLAttributes } from "react";
import { cn } from "./cn";

const CONTROL = "block w-full rounded-md border border-stone-300 bg-white px-3 py-2 text-sm text-stone-900 shadow-xs placeholder:text-stone-400 focus:border-teal-600 focus:ring-2 focus:ring-teal-600/20 focus:outline-none aria-invalid:border-red-500";

type FieldProps = { id: string; label: string; error?: string[]; hint?: ReactNode };

function Describe({ id, error, hint }: { id: string; error?: string[]; hint?: ReactNode }) {
  return (
    <>
      {hint && !error?.length && <p id={`${id}-hint`} className="mt-1 text-xs text-stone-500">{hint}</p>}
      {error?.length ? <p id={`${id}-error`} className="mt-1 text-xs text-red-700" role="alert">{error.join(" ")}</p> : null}
    </>
  );
}

function describedBy(id: string, error?: string[], hint?: ReactNode): string | undefined {
  return error?.length ? `${id}-error` : hint ? `${id}-hint` : undefined;
}

export function TextField({ id, label, error, hint, className, ...props }: FieldProps & InputHTMLAttributes<HTMLInputElement> & { ref?: Ref<HTMLInputElement> }) {
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-stone-700">{label}</label>
      <input id={id} name={id} {...props} aria-invalid={error?.length ? true : undefined} aria-describedby={describedBy(id, error, hint)} className={CONTROL} />
      <Describe id={id} error={error} hint={hint} />
    </div>
  );
}

export function SelectField({ id, label, error, hint, className, children, ...props }: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-stone-700">{label}</label>
      <select id={id} name={id} {...props} aria-invalid={error?.length ? true : undefined} aria-describedby={describedBy(id, error, hint)} className={cn(CONTROL, "pr-8")}>
        {children}
      </select>
      <Describe id={id} error={error} hint={hint} />
    </div>
  );
}

export function FormError({ message }: { message?: string }) {
  if (!message) return null;
  return <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{message}</div>;
}
