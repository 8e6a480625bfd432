// Command lines in the launch form: split into argv words (quotes group, backslash escapes) and back.
/** Splits a command line into words (quotes group, backslash escapes), as a shell would for simple cases. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { quote = c; has = true; }
    else if (c === "\\" && i + 1 < line.length) { cur += line[++i]; has = true; }
    else if (/\s/.test(c)) { if (has || cur) out.push(cur); cur = ""; has = false; }
    else cur += c;
  }
  if (has || cur) out.push(cur);
  return out;
}

/** The inverse of splitCommand for display: words with spaces or quotes are single-quoted. */
export function joinCommand(words: string[]): string {
  return words.map((w) => (w === "" || /[\s'"\\]/.test(w) ? `'${w.replace(/'/g, "'\\''")}'` : w)).join(" ");
}
