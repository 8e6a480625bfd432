// A URL path segment decoded once, or null when its percent-encoding is malformed ("%FF", "%E0%A4"):
// such a segment names nothing, and must answer 400/404 rather than throw a URIError (a 500).
export function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
