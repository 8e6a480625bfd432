// Expected failures are values with a code; adapters map the code to an HTTP status.
export const ERROR_STATUS = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  quota_exceeded: 409,
  rate_limited: 429,
  upstream_unavailable: 502,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type FieldErrors = Record<string, string[]>;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly fields?: FieldErrors;
  readonly status: number;

  constructor(code: ErrorCode, message: string, opts?: { fields?: FieldErrors; status?: number }) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.fields = opts?.fields;
    this.status = opts?.status ?? ERROR_STATUS[code];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
