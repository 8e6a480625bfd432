// The axis frame drawn over a chart's canvas (SVG, so the text stays crisp and selectable).
export type Margin = { top: number; right: number; bottom: number; left: number };
export type Tick = { at: number; label: string };

export function Axes({ width, height, margin, xTicks, yTicks, xLabel, yLabel }: { width: number; height: number; margin: Margin; xTicks: Tick[]; yTicks: Tick[]; xLabel: string; yLabel: string }) {
  if (width === 0) return null;
  const w = width - margin.left - margin.right;
  const h = height - margin.top - margin.bottom;
  return (
    <svg width={width} height={height} className="pointer-events-none absolute inset-0 text-stone-500" aria-hidden>
      <g transform={`translate(${margin.left},${margin.top})`} fontSize={10} fill="currentColor">
        <line x1={0} x2={0} y1={0} y2={h} stroke="#d6d3d1" />
        <line x1={0} x2={w} y1={h} y2={h} stroke="#d6d3d1" />
        {yTicks.map((t) => (
          <g key={`y${t.at}`} transform={`translate(0,${h - t.at * h})`}>
            <line x1={0} x2={w} stroke="#f5f5f4" />
            <text x={-4} dy="0.32em" textAnchor="end">{t.label}</text>
          </g>
        ))}
        {xTicks.map((t) => <text key={`x${t.at}`} x={t.at * w} y={h + 13} textAnchor="middle">{t.label}</text>)}
        <text x={w} y={h + 26} textAnchor="end" className="font-mono">{xLabel}</text>
        <text x={-margin.left + 2} y={-6} className="font-mono">{yLabel}</text>
      </g>
    </svg>
  );
}
