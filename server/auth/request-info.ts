type HeaderBag = Record<string, string | string[] | undefined> | Headers | undefined | null;

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  const v = headers instanceof Headers ? headers.get(name) : headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? undefined;
}

/** The caller's address as the proxy in front of us (or Next's own server) reports it. */
export function clientIp(headers: HeaderBag): string | undefined {
  return headerValue(headers, "x-forwarded-for")?.split(",")[0]?.trim() || headerValue(headers, "x-real-ip") || undefined;
}
