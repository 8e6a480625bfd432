// The path of a request target as Next reads it: up to the first `?` (the query) or `#` (a fragment a client should
// not send, and Next drops).
export function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}
