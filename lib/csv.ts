// CSV as RFC 4180 says (for chargeback exports): fields holding a comma, quote, CR or LF are quoted with inner
// quotes doubled, lines end in CRLF. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first)
// is prefixed with an apostrophe (OWASP's CSV-injection advice); numbers are written as numbers.
export type CsvCell = string | number | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}
