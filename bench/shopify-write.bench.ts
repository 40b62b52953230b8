/**
 * bench/shopify-write: drains 20,000 sku-location updates through the Shopify client against the emulator on
 * the Standard plan, and compares with one call per update measured in the same run.
 *
 * Bound: a 250-entry inventorySetQuantities costs 10 points, so restoreRate / 10 x 250 updates per second.
 * Fairness: the bucket starts full (2,000 points = 200 calls = 50,000 updates at no wait), which would hide the
 * steady state. The baseline runs first and empties it, then the bucket is set to 0 through the emulator's
 * test hook, so the measured run starts drained and every point it spends was restored during the run.
 */
import { it } from 'vitest';
import { createShopifyClient, ShopBudget, type SetAvailableEntry } from '../src/shopify/client/index.js';
import { PLAN_LIMITS, startEmulator } from '../src/shopify/emulator/index.js';

const UPDATES = Number(process.env.BENCH_UPDATES ?? 20_000);
const BASELINE_CALLS = Number(process.env.BENCH_BASELINE_CALLS ?? 300);
const ITEMS = UPDATES / 2;
/** Added to every emulator response in the measured run, to see pacing hold with a real network's round trips. */
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 0);

it('shopify-write: batched, budget-paced writes against one call per update', async () => {
  const running = await startEmulator({ logger: false, defaultPlan: 'standard' });
  try {
    const em = running.emulator;
    const domain = 'bench-write.myshopify.com';
    const accessToken = 'shpat_bench_write';
    em.createShop({ domain, accessToken, plan: 'standard' });
    const locations = [em.createLocation(domain, { name: 'East' }).id, em.createLocation(domain, { name: 'West' }).id];
    const items = Array.from({ length: ITEMS }, (_, i) => em.createProduct(domain, { sku: `BENCH-${i}` }).inventoryItemId);
    const pairs = items.flatMap((inventoryItemId) => locations.map((locationId) => ({ inventoryItemId, locationId })));
    const { restoreRate } = PLAN_LIMITS.standard;
    const bound = (restoreRate / 10) * 250;

    const client = createShopifyClient({ shopDomain: domain, accessToken, baseUrl: running.url, budget: new ShopBudget(domain) });
    const counters = () => em.counters(domain);

    // Baseline: one call per update, the way the seed design writes.
    const b0 = counters();
    const bStart = performance.now();
    await Promise.all(
      pairs.slice(0, BASELINE_CALLS).map((p, i) => client.setAvailable([{ ...p, quantity: 1 + (i % 7), changeFromQuantity: 0 }], { keySalt: 'baseline' })),
    );
    const bSeconds = (performance.now() - bStart) / 1000;
    const b1 = counters();
    const baselinePointsPerUpdate = (b1.costSpent - b0.costSpent) / BASELINE_CALLS;

    // Measured run: every pair, from a drained bucket.
    em.setBucket(domain, 0);
    if (LATENCY_MS > 0) em.setFaults(domain, { latencyMs: LATENCY_MS });
    const entries: SetAvailableEntry[] = pairs.map((p, i) => ({
      ...p,
      quantity: 10 + (i % 50),
      changeFromQuantity: i < BASELINE_CALLS ? 1 + (i % 7) : 0,
    }));
    const m0 = counters();
    const mStart = performance.now();
    const results = await client.setAvailable(entries, { keySalt: 'measured' });
    const mSeconds = (performance.now() - mStart) / 1000;
    const m1 = counters();

    const applied = results.filter((r) => r.status === 'applied').length;
    const wrong = entries.filter((e) => em.getLevel(domain, e.inventoryItemId, e.locationId).available !== e.quantity).length;
    const updatesPerSecond = UPDATES / mSeconds;
    const pointsPerUpdate = (m1.costSpent - m0.costSpent) / UPDATES;

    const rows: [string, string][] = [
      ['plan', `standard (restore ${restoreRate} points/s, bucket ${PLAN_LIMITS.standard.maximumAvailable})`],
      ['start of measured run', 'bucket drained to 0 (emulator setBucket) after the baseline; no initial burst counted'],
      ['added latency per call', `${LATENCY_MS} ms (BENCH_LATENCY_MS)`],
      ['updates', `${UPDATES} (${ITEMS} items x ${locations.length} locations)`],
      ['applied / verified in emulator', `${applied} applied, ${UPDATES - wrong} quantities verified`],
      ['calls (measured run)', `${m1.calls - m0.calls} (mutations applied ${m1.mutationsApplied - m0.mutationsApplied})`],
      ['elapsed', `${mSeconds.toFixed(2)} s`],
      ['updates per second', `${updatesPerSecond.toFixed(0)}`],
      ['share of plan bound', `${(updatesPerSecond / bound).toFixed(3)} of ${bound}/s (target >= 0.9)`],
      ['THROTTLED responses (measured run)', `${m1.throttled - m0.throttled}`],
      ['THROTTLED responses (baseline)', `${b1.throttled - b0.throttled}`],
      ['cost points per update (batched)', pointsPerUpdate.toFixed(4)],
      ['cost points per update (one call per update)', `${baselinePointsPerUpdate.toFixed(2)} (${BASELINE_CALLS} calls in ${bSeconds.toFixed(1)} s)`],
      ['points per update, baseline / batched', `${(baselinePointsPerUpdate / pointsPerUpdate).toFixed(0)}x fewer (target >= 200x)`],
      [
        'baseline extrapolated to all updates',
        `${((UPDATES * baselinePointsPerUpdate) / restoreRate / 60).toFixed(1)} min of budget vs ${((UPDATES * pointsPerUpdate) / restoreRate).toFixed(1)} s`,
      ],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nbench/shopify-write\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  } finally {
    await running.close();
  }
});
