import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { HistoryPoint } from './api.js';

/**
 * Shopify `available` against ATS over time, from the audit log: at each write, Shopify held `shopifyBefore`
 * (orders and edits move it between writes) and then `shopifyAfter`; ATS is what the write computed.
 */
export function historyChart(target: HTMLElement, points: HistoryPoint[], width: number, now?: { ats: number | null; shopify: number | null }): uPlot | null {
  if (points.length === 0) return null;
  const xs: number[] = [];
  const ats: (number | null)[] = [];
  const shopify: (number | null)[] = [];
  let lastAts: number | null = null;
  for (const p of points) {
    const t = Date.parse(p.at) / 1000;
    // Just before the write: what Shopify held then, and the ATS of the previous write.
    xs.push(t - 0.001);
    ats.push(lastAts);
    shopify.push(p.shopifyBefore);
    xs.push(t);
    ats.push(p.ats ?? lastAts);
    shopify.push(p.shopifyAfter);
    lastAts = p.ats ?? lastAts;
  }
  // The lines run on to now, where they end at today's ATS and what Shopify holds now (explain's reading).
  const end = Date.now() / 1000;
  if (now && end > xs[xs.length - 1]!) {
    xs.push(end);
    ats.push(now.ats ?? lastAts);
    shopify.push(now.shopify ?? shopify[shopify.length - 1] ?? null);
  }
  const stepped = uPlot.paths.stepped!({ align: 1 });
  const opts: uPlot.Options = {
    width,
    height: 220,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, Math.ceil((max ?? 1) * 1.15))] } },
    axes: [
      { stroke: '#8b93a7', grid: { stroke: '#262c3a' }, ticks: { stroke: '#262c3a' } },
      { stroke: '#8b93a7', grid: { stroke: '#262c3a' }, ticks: { stroke: '#262c3a' } },
    ],
    series: [
      {},
      // ATS wide and underneath, Shopify thin and dashed on top: where they agree both stay visible.
      { label: 'ATS', stroke: '#4cc38a', width: 4, fill: 'rgba(76, 195, 138, 0.08)', paths: stepped, spanGaps: true, points: { show: false } },
      { label: 'Shopify available', stroke: '#5b9cff', width: 1.5, dash: [6, 4], paths: stepped, spanGaps: true, points: { show: false } },
    ],
  };
  return new uPlot(opts, [xs, ats, shopify], target);
}
