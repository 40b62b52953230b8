/**
 * A small hand-rolled SVG step chart (two series over time): enough for "Shopify's available against the true
 * sellable quantity" per design, with no dependency. Values are drawn as steps (a quantity holds until it changes).
 */
export type Series = { name: string; color: string; points: { t: number; v: number }[]; dash?: string };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function stepChartSvg(opts: { title: string; subtitle?: string; xLabel: string; yLabel: string; series: Series[]; width?: number; height?: number; xMax?: number }): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 300;
  const m = { l: 48, r: 16, t: 44, b: 40 };
  const all = opts.series.flatMap((s) => s.points);
  const xMax = opts.xMax ?? Math.max(1, ...all.map((p) => p.t));
  const yMin = Math.min(0, ...all.map((p) => p.v));
  const yMax = Math.max(1, ...all.map((p) => p.v));
  const x = (t: number) => m.l + (Math.min(t, xMax) / xMax) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${m.l}" y="31" fill="#555">${esc(opts.subtitle)}</text>`);
  // Axes and ticks.
  out.push(`<line x1="${m.l}" y1="${y(yMin)}" x2="${W - m.r}" y2="${y(yMin)}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`);
  const yStep = Math.max(1, Math.ceil((yMax - yMin) / 6));
  for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax; v += yStep) {
    out.push(`<line x1="${m.l - 4}" y1="${y(v).toFixed(1)}" x2="${W - m.r}" y2="${y(v).toFixed(1)}" stroke="${v === 0 ? '#333' : '#eee'}"/><text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  const xStep = Math.max(1, Math.ceil(xMax / 10 / 1000)) * 1000;
  for (let t = 0; t <= xMax; t += xStep) {
    out.push(`<line x1="${x(t).toFixed(1)}" y1="${H - m.b}" x2="${x(t).toFixed(1)}" y2="${H - m.b + 4}" stroke="#333"/><text x="${x(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${t / 1000}</text>`);
  }
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text x="12" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(m.t + H - m.b) / 2})">${esc(opts.yLabel)}</text>`);
  // Series as step paths, then a legend.
  opts.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.t - b.t);
    if (pts.length > 0) {
      let d = `M${x(pts[0]!.t).toFixed(1)},${y(pts[0]!.v).toFixed(1)}`;
      for (let j = 1; j < pts.length; j++) d += ` H${x(pts[j]!.t).toFixed(1)} V${y(pts[j]!.v).toFixed(1)}`;
      d += ` H${x(xMax).toFixed(1)}`;
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${i === 0 ? 2 : 1.6}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    const lx = W - m.r - 230;
    const ly = m.t + 4 + i * 14;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${lx + 24}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
