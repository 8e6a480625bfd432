// Formatting shared by server and client components (UTC unless the browser localizes).
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
}

/**
 * "3 days ago", "in 7 days": the nearest whole unit (a request made a minute ago that expires in 7 days says
 * "in 7 days", not "in 6 days"), seconds up to a minute, minutes up to an hour, hours up to a day.
 */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const [value, unit] =
    s < 60 ? [s, "second"] : s < 3570 ? [Math.round(s / 60), "minute"] : s < 84600 ? [Math.round(s / 3600), "hour"] : [Math.round(s / 86400), "day"];
  const text = formatCount(value, unit);
  return future ? `in ${text}` : s < 5 ? "just now" : `${text} ago`;
}

const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });

/**
 * Money, one way everywhere: US dollars with cents ("$73.00", "$146.00", "$5,000.00"); a non-zero amount
 * under a cent reads "<$0.01" rather than "$0.00" (it is not nothing).
 */
export function formatUsd(amount: number): string {
  if (amount !== 0 && Math.abs(amount) < 0.005) return amount < 0 ? ">−$0.01" : "<$0.01";
  return USD.format(amount);
}

/** A duration, one way everywhere: "42 s", "1 min 36 s", "2 h 5 min" (rounded to the unit shown). */
export function formatDurationSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A count with its noun, singular for one: "1 point", "2,048 points", "0 replicas". */
export function formatCount(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? noun : plural}`;
}
