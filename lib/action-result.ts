// What every server action returns (forms render `error` and `fieldErrors` next to their fields).
export type ActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: string; code: string; fieldErrors?: Record<string, string[]> };
