// A sweep's progress: each finished trial's objective (dots) and the best so far (a step line), by trial number.
// Plain SVG rendered on the server: a sweep has at most 500 trials.
import { bestSoFar, formatTick } from "@/lib/chart-scales";

type Props = { trials: { number: number; objective: number | null; state: string }[]; metric: string; direction: "minimize" | "maximize" };

const W = 640;
const H = 220;
const M = { top: 12, right: 16, bottom: 30, left: 56 };

export function SweepProgress({ trials, metric, direction }: Props) {
  const curve = bestSoFar(trials, direction);
  const scored = curve.filter((t): t is typeof t & { objective: number } => t.objective !== null && Number.isFinite(t.objective));
  if (scored.length === 0) return <p className="text-sm text-stone-500">The chart starts once a trial logs {metric}.</p>;
  const values = scored.map((t) => t.objective);
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const [y0, y1] = lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05];
  const maxN = Math.max(...curve.map((t) => t.number), 1);
  const px = (n: number) => M.left + ((n - 1) / Math.max(1, maxN - 1)) * (W - M.left - M.right);
  const py = (v: number) => M.top + (1 - (v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const steps = curve.filter((t) => t.best !== null);
  const path = steps.map((t, i) => (i === 0 ? `M${px(t.number).toFixed(1)},${py(t.best!).toFixed(1)}` : `H${px(t.number).toFixed(1)} V${py(t.best!).toFixed(1)}`)).join(" ");
  const last = steps.at(-1)!;
  const yTicks = Array.from({ length: 5 }, (_, i) => y0 + ((y1 - y0) * i) / 4);
  return (
    <figure aria-label={`Best ${metric} so far by trial`} data-testid="sweep-progress">
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full max-w-3xl" role="img" aria-labelledby="sweep-progress-caption">
        <g fontSize={10} fill="#78716c">
          {yTicks.map((v) => (
            <g key={v}>
              <line x1={M.left} x2={W - M.right} y1={py(v)} y2={py(v)} stroke="#f5f5f4" />
              <text x={M.left - 4} y={py(v)} dy="0.32em" textAnchor="end">{formatTick(v)}</text>
            </g>
          ))}
          <line x1={M.left} x2={W - M.right} y1={H - M.bottom} y2={H - M.bottom} stroke="#d6d3d1" />
          {[1, Math.ceil(maxN / 2), maxN].filter((n, i, a) => a.indexOf(n) === i).map((n) => <text key={n} x={px(n)} y={H - M.bottom + 14} textAnchor="middle">#{n}</text>)}
          <text x={W - M.right} y={H - 2} textAnchor="end">trial</text>
        </g>
        {scored.map((t) => (
          <circle key={t.number} cx={px(t.number)} cy={py(t.objective)} r={3.5} fill={t.state === "succeeded" ? "#0f766e" : "#a8a29e"} fillOpacity={0.7}>
            <title>{`Trial #${t.number} (${t.state}): ${metric} ${t.objective}`}</title>
          </circle>
        ))}
        <path d={`${path} H${px(maxN).toFixed(1)}`} fill="none" stroke="#b45309" strokeWidth={2} />
      </svg>
      <figcaption id="sweep-progress-caption" className="mt-1 text-xs text-stone-600">
        Best {metric} so far ({direction === "minimize" ? "lowest" : "highest"}, amber line) after each trial; dots are each trial&apos;s {metric} (grey: stopped early or failed).
        Best after {curve.length} trials: {formatTick(last.best!)}.
      </figcaption>
    </figure>
  );
}
