"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export type TeamBarSeries = { key: string; name: string; color: string };

/** A bar per team, stacked by series (storage by type, GPUs held): `rows` are { team, [series key]: value }. */
export function TeamBars({ title, rows, series, format }: { title: string; rows: Record<string, string | number>[]; series: TeamBarSeries[]; format: (v: number) => string }) {
  return (
    <figure className="rounded-lg border border-stone-200 bg-white p-3" aria-label={`Chart of ${title}`}>
      <figcaption className="mb-1 text-sm font-medium text-stone-800">{title}</figcaption>
      <ResponsiveContainer width="100%" height={Math.max(120, 40 + rows.length * 28)}>
        <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" fontSize={11} tickFormatter={(v) => format(Number(v))} />
          <YAxis type="category" dataKey="team" fontSize={11} width={72} />
          <Tooltip formatter={(v) => format(Number(v))} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
          {series.map((s) => <Bar key={s.key} dataKey={s.key} name={s.name} stackId="team" fill={s.color} isAnimationActive={false} />)}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
