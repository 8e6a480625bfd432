import type { ReactNode } from "react";

// A small, safe markdown subset (headings, lists, code, emphasis, links): everything is rendered as
// React text nodes, so user-written HTML is never interpreted.
function inline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*|\[[^\]]+\]\((https?:\/\/[^)\s]+)\))/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const t = m[0];
    if (t.startsWith("`")) out.push(<code key={m.index} className="rounded bg-stone-100 px-1 font-mono text-xs">{t.slice(1, -1)}</code>);
    else if (t.startsWith("**")) out.push(<strong key={m.index}>{t.slice(2, -2)}</strong>);
    else if (t.startsWith("*")) out.push(<em key={m.index}>{t.slice(1, -1)}</em>);
    else out.push(<a key={m.index} href={m[2]} className="text-teal-800 underline" rel="noreferrer noopener" target="_blank">{t.slice(1, t.indexOf("]"))}</a>);
    last = m.index + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function Markdown({ text }: { text: string }) {
  const blocks: ReactNode[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("```")) {
      const code: string[] = [];
      while (++i < lines.length && !lines[i]!.startsWith("```")) code.push(lines[i]!);
      blocks.push(<pre key={i} className="overflow-x-auto rounded bg-stone-900 p-3 font-mono text-xs text-stone-100">{code.join("\n")}</pre>);
    } else if (/^#{1,3} /.test(line)) {
      const level = line.indexOf(" ");
      blocks.push(<p key={i} className={level === 1 ? "text-lg font-semibold" : "font-semibold"}>{inline(line.slice(level + 1))}</p>);
    } else if (/^\s*[-*] /.test(line)) {
      const items: string[] = [];
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]!); i++) items.push(lines[i]!.replace(/^\s*[-*] /, ""));
      i--;
      blocks.push(<ul key={i} className="list-disc pl-5">{items.map((it, j) => <li key={j}>{inline(it)}</li>)}</ul>);
    } else if (line.trim()) {
      blocks.push(<p key={i}>{inline(line)}</p>);
    }
  }
  return <div className="space-y-2 text-sm text-stone-800" data-testid="markdown">{blocks}</div>;
}
