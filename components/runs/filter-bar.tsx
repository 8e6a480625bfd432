"use client";

import { useMemo, useState } from "react";
import type { KeyboardEvent } from "react";
import { FilterSyntaxError, parseFilter } from "@/lib/search/filter";
import { Button } from "@/components/ui/button";

export type FilterKeys = { params: string[]; metrics: string[]; tags: string[] };

const PREFIXES = ["metrics.", "params.", "tags.", "attributes.", "datasets."];
const ATTRIBUTES = ["run_name", "status", "user_id", "start_time", "end_time", "run_id"];
const DATASET_KEYS = ["name", "digest", "context"];

/** Suggestions for the identifier being typed at the end of the input. */
function suggestionsFor(text: string, keys: FilterKeys): { replaceFrom: number; items: string[] } {
  const m = /([A-Za-z_][\w.\-/]*)$/.exec(text);
  if (!m) return { replaceFrom: text.length, items: [] };
  const word = m[1]!;
  const from = text.length - word.length;
  const dot = word.indexOf(".");
  if (dot < 0) {
    const items = [...PREFIXES, ...ATTRIBUTES].filter((p) => p.startsWith(word.toLowerCase()) && p !== word);
    return { replaceFrom: from, items };
  }
  const prefix = word.slice(0, dot).toLowerCase();
  const partial = word.slice(dot + 1);
  const pool =
    prefix.startsWith("metric") ? keys.metrics : prefix.startsWith("param") ? keys.params : prefix.startsWith("tag") ? keys.tags
      : prefix.startsWith("attr") ? ATTRIBUTES : prefix.startsWith("dataset") ? DATASET_KEYS : [];
  const items = pool
    .filter((k) => k.toLowerCase().includes(partial.toLowerCase()) && k !== partial)
    .slice(0, 12)
    .map((k) => `${word.slice(0, dot)}.${/^[A-Za-z_][\w.\-/]*$/.test(k) ? k : `\`${k}\``}`);
  return { replaceFrom: from, items };
}

function localError(text: string): string | undefined {
  try {
    parseFilter(text);
    return undefined;
  } catch (err) {
    if (err instanceof FilterSyntaxError) return `${err.message}`;
    return undefined;
  }
}

export function FilterBar({ value, serverError, keys, onApply }: { value: string; serverError?: string; keys: FilterKeys; onApply: (filter: string) => void }) {
  const [text, setText] = useState(value);
  const [active, setActive] = useState(-1);
  const [focused, setFocused] = useState(false);
  const suggestions = useMemo(() => (focused ? suggestionsFor(text, keys) : { replaceFrom: 0, items: [] }), [text, keys, focused]);
  const error = text === value && serverError ? serverError : localError(text);

  function accept(item: string) {
    setText(text.slice(0, suggestions.replaceFrom) + item + (item.endsWith(".") ? "" : " "));
    setActive(-1);
  }

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    const n = suggestions.items.length;
    if (e.key === "ArrowDown" && n) { e.preventDefault(); setActive((a) => (a + 1) % n); }
    else if (e.key === "ArrowUp" && n) { e.preventDefault(); setActive((a) => (a <= 0 ? n - 1 : a - 1)); }
    else if ((e.key === "Tab" || e.key === "Enter") && active >= 0 && suggestions.items[active]) { e.preventDefault(); accept(suggestions.items[active]!); }
    else if (e.key === "Enter") { e.preventDefault(); if (!localError(text)) onApply(text.trim()); }
    else if (e.key === "Escape") setActive(-1);
  }

  return (
    <div className="relative flex-1">
      <label htmlFor="run-filter" className="sr-only">Filter runs</label>
      <div className="flex gap-2">
        <input
          id="run-filter"
          role="combobox"
          aria-expanded={suggestions.items.length > 0}
          aria-controls="run-filter-suggestions"
          aria-activedescendant={active >= 0 ? `run-filter-option-${active}` : undefined}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "run-filter-error" : "run-filter-hint"}
          value={text}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => { setText(e.target.value); setActive(-1); }}
          onKeyDown={onKeyDown}
          onFocus={() => setFocused(true)}
          onBlur={() => setTimeout(() => setFocused(false), 150)}
          placeholder="metrics.auc > 0.8 and (params.optimizer = 'adam' or tags.stage = 'sweep')"
          className="block w-full rounded-md border border-stone-300 bg-white px-3 py-2 font-mono text-sm focus:border-teal-600 focus:ring-2 focus:ring-teal-600/20 focus:outline-none aria-invalid:border-red-500"
        />
        <Button variant="secondary" disabled={!!localError(text)} onClick={() => onApply(text.trim())}>Search</Button>
        {value && <Button variant="ghost" onClick={() => { setText(""); onApply(""); }}>Clear</Button>}
      </div>
      {suggestions.items.length > 0 && (
        <ul id="run-filter-suggestions" role="listbox" aria-label="Suggestions" className="absolute z-20 mt-1 max-h-64 w-full max-w-lg overflow-auto rounded-md border border-stone-200 bg-white py-1 text-sm shadow-lg">
          {suggestions.items.map((item, i) => (
            <li
              key={item}
              id={`run-filter-option-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => { e.preventDefault(); accept(item); }}
              className={`cursor-pointer px-3 py-1 font-mono ${i === active ? "bg-teal-50 text-teal-900" : "text-stone-700"}`}
            >
              {item}
            </li>
          ))}
        </ul>
      )}
      {error ? (
        <pre id="run-filter-error" role="alert" className="mt-1 overflow-x-auto text-xs whitespace-pre-wrap text-red-700">{error}</pre>
      ) : (
        <p id="run-filter-hint" className="mt-1 text-xs text-stone-500">
          MLflow filter syntax with AND, OR and parentheses: metrics., params., tags., attributes. (status, run_name, start_time…), datasets.
        </p>
      )}
    </div>
  );
}
