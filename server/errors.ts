// Expected failures are values with a code; adapters map the code to an HTTP status.
export const ERROR_STATUS = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  quota_exceeded: 409,
  /** The team is past a budget step that holds new jobs and deploys (a lead's approval, or block). */
  budget_exceeded: 403,
  rate_limited: 429,
  upstream_unavailable: 502,
  /** A capability the request names that this Cairn does not have yet (the message says what to do instead). */
  not_implemented: 501,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type FieldErrors = Record<string, string[]>;

// Next bundles a module once per entry (instrumentation, each route), and process-wide singletons
// created in one bundle throw that bundle's AppError; a registered brand keeps `instanceof` true
// across the copies.
const BRAND = Symbol.for("cairn.AppError");

export class AppError extends Error {
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly fields?: FieldErrors;
  readonly status: number;
  /** Seconds after which the same request may succeed (a Retry-After header), for rate_limited answers. */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, opts?: { fields?: FieldErrors; status?: number; retryAfterSeconds?: number }) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.fields = opts?.fields;
    this.status = opts?.status ?? ERROR_STATUS[code];
    this.retryAfterSeconds = opts?.retryAfterSeconds;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** PostgreSQL's unique_violation on `constraint`, whether the driver error is wrapped (drizzle's `cause`) or not. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ("code" in e && e.code === "23505") return !("constraint" in e) || e.constraint === undefined || e.constraint === constraint;
  }
  return false;
}
