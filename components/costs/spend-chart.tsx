"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatUsd } from "@/lib/format";
import type { SpendStack } from "./stack-series";
import { OTHER_KEY, dayOf } from "./stack-series";

const COLORS = ["#0f766e", "#b45309", "#4338ca", "#be123c", "#0369a1", "#4d7c0f", "#7e22ce", "#c2410c"];
const OTHER_COLOR = "#a8a29e";

/** Stacked daily spend per key. Keys are data fields by position: a key such as "cpu.large" would read as a path. */
export function SpendChart({ stack, title }: { stack: SpendStack; title: string }) {
  const data = stack.rows.map((r) => ({ t: r.t, ...Object.fromEntries(r.amounts.map((a, i) => [`k${i}`, a])) }));
  return (
    <figure aria-label={title}>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="t" tickFormatter={(t: number) => dayOf(t).slice(5)} fontSize={11} minTickGap={24} />
          <YAxis fontSize={11} width={56} tickFormatter={(v: number) => formatUsd(v)} />
          <Tooltip labelFormatter={(t) => dayOf(Number(t))} formatter={(v) => formatUsd(Number(v))} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {stack.keys.map((key, i) => (
            <Bar key={key} dataKey={`k${i}`} name={key} stackId="spend" fill={key === OTHER_KEY && i === stack.keys.length - 1 ? OTHER_COLOR : COLORS[i % COLORS.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
