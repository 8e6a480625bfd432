// Where to send a browser after sign-in: a path on this site only. Anything else (another origin, a
// scheme, `//host`, `/\host`, control characters or whitespace that browsers strip or reject) becomes "/".

const MAX_LENGTH = 2048;
// C0 controls, space, DEL, C1 controls, and Unicode spaces/separators (URL parsers strip tab and newline,
// which is how "/\t/evil.example" became "//evil.example").
const UNSAFE_CHARS = /[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/;

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A same-origin path (with query and fragment) for `raw`, or "/" when `raw` is anything else. */
export function safeCallbackPath(raw: unknown): string {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_LENGTH) return "/";
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  if (UNSAFE_CHARS.test(value) || value.includes("\\")) return "/";
  // Decoding once more must not reveal any of the above either (a path is decoded again by some routers).
  // In the query and fragment an encoded space is fine (run filters); an encoded control character is not.
  const split = value.search(/[?#]/);
  const path = split < 0 ? value : value.slice(0, split);
  const rest = split < 0 ? "" : value.slice(split);
  let decodedPath: string;
  let decodedRest: string;
  try {
    decodedPath = decodeURIComponent(path);
    decodedRest = decodeURIComponent(rest);
  } catch {
    return "/";
  }
  if (decodedPath.startsWith("//") || decodedPath.startsWith("/\\") || UNSAFE_CHARS.test(decodedPath)) return "/";
  if (CONTROL_CHARS.test(decodedRest)) return "/";
  // Belt and braces: the URL parser must resolve it on our own origin, to the same path.
  try {
    const base = "http://cairn.invalid";
    const url = new URL(value, base);
    if (url.origin !== base) return "/";
    // Dot segments resolve away ("/.//evil.example" is "//evil.example"): the resolved path must pass too.
    if (url.pathname.startsWith("//")) return "/";
    return value;
  } catch {
    return "/";
  }
}

/**
 * next-auth's redirect callback: a same-origin path or absolute URL on `baseUrl` (next-auth's own
 * redirects are absolute) becomes `baseUrl` + its safe path; anything else becomes `baseUrl`.
 */
export function safeRedirectUrl(url: string, baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  if (url.startsWith("/")) {
    const path = safeCallbackPath(url);
    return path === "/" ? base : `${base}${path}`;
  }
  let parsed: URL;
  let origin: string;
  try {
    parsed = new URL(url);
    origin = new URL(base).origin;
  } catch {
    return base;
  }
  // The raw text must name the origin itself (the parser forgives "http://host\t/..." and "http:host").
  if (parsed.origin !== origin || (url !== origin && !url.startsWith(`${origin}/`))) return base;
  const path = safeCallbackPath(url.slice(origin.length) || "/");
  return path === "/" ? base : `${base}${path}`;
}
