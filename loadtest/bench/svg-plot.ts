/** One line of the plot: (concurrent streams, latency ms) points. */
export interface PlotSeries {
  label: string;
  color: string;
  dashed: boolean;
  points: { x: number; y: number }[];
}

const W = 760;
const H = 440;
const M = { left: 70, right: 190, top: 40, bottom: 55 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Powers of ten (and 2x, 5x) between lo and hi, for log-axis ticks. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** p;
      if (v >= lo && v <= hi) out.push(v);
    }
  return out;
}

/**
 * A log-log line plot of latency percentiles against concurrent streams, with the 200 ms target
 * drawn across, as a standalone SVG (no dependencies).
 */
export function latencyPlot(title: string, series: PlotSeries[], targetMs = 200): string {
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const xs = pts.map((p) => p.x);
  const ys = [...pts.map((p) => p.y), targetMs];
  const xLo = Math.min(...xs) * 0.7;
  const xHi = Math.max(...xs) * 1.4;
  const yLo = Math.max(0.1, Math.min(...ys) * 0.7);
  const yHi = Math.max(...ys) * 1.5;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((Math.log(x) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * pw;
  const sy = (y: number) =>
    M.top + ph - ((Math.log(y) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * ph;
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (const t of logTicks(xLo, xHi)) {
    parts.push(
      `<line x1="${f(sx(t))}" y1="${M.top}" x2="${f(sx(t))}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${f(sx(t))}" y="${M.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of logTicks(yLo, yHi)) {
    parts.push(
      `<line x1="${M.left}" y1="${f(sy(t))}" x2="${M.left + pw}" y2="${f(sy(t))}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" y1="${f(sy(targetMs))}" x2="${M.left + pw}" y2="${f(sy(targetMs))}" stroke="#d33" stroke-dasharray="2,3"/>`,
    `<text x="${M.left + pw - 4}" y="${f(sy(targetMs) - 5)}" text-anchor="end" fill="#d33">p99 target ${targetMs} ms</text>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">concurrent streams (log)</text>`,
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">event latency, ms (log)</text>`,
  );
  series.forEach((s, i) => {
    const p = s.points.filter((q) => q.x > 0 && q.y > 0).sort((a, b) => a.x - b.x);
    if (p.length === 0) return;
    const dash = s.dashed ? ' stroke-dasharray="6,4"' : '';
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${p.map((q) => `${f(sx(q.x))},${f(sy(q.y))}`).join(' ')}"/>`,
      ...p.map((q) => `<circle cx="${f(sx(q.x))}" cy="${f(sy(q.y))}" r="3" fill="${s.color}"/>`),
    );
    const ly = M.top + 10 + i * 20;
    parts.push(
      `<line x1="${W - M.right + 15}" y1="${ly}" x2="${W - M.right + 45}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${W - M.right + 52}" y="${ly + 4}">${esc(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
