/**
 * After the faults stop: bring the system to quiet (every send answered, every webhook delivered, the outbox
 * empty, reconciliation run once more to recover orders whose webhooks never came), then audit every invariant
 * against the driver's ground truth, the emulator's counters, PostgreSQL, Temporal, and the captured logs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { emulatorControl } from './faults.js';
import { SOURCE_NAMES, type Topology } from './topology.js';
import type { ChaosTraffic as Traffic } from './traffic.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests a sender may give up on after its retry budget (bench/chaos/delivery.ts): at most this share ... */
export const MAX_REFUSED_FOR_GOOD_SHARE = 0.005;
/** ... and at most this many. */
export const MAX_REFUSED_FOR_GOOD = 25;
const RETRY_BUDGET_S = 180;

export interface Invariant {
  name: string;
  value: string;
  ok: boolean;
  /** What is wrong, named, when not ok. */
  detail?: string;
}

export interface AuditResult {
  invariants: Invariant[];
  figures: { name: string; value: string }[];
}

interface ShopifyLevel {
  available: number;
  committed: number;
}

/** Shopify's levels by `${sku}|${location code}`. */
async function shopifyLevels(topo: Topology, traffic: Traffic): Promise<Map<string, ShopifyLevel>> {
  const res = await fetch(`${topo.emulatorUrl}/_emulator/shops/${traffic.shop.domain}/state`);
  const state = (await res.json()) as { items: { sku: string; levels: { locationId: string; available: number; committed: number }[] }[] };
  const code = new Map(Object.entries(traffic.seeded.locations).map(([c, gid]) => [gid, c]));
  const out = new Map<string, ShopifyLevel>();
  for (const i of state.items) for (const l of i.levels) out.set(`${i.sku}|${code.get(l.locationId) ?? l.locationId}`, { available: l.available, committed: l.committed });
  return out;
}

async function counters(topo: Topology, domain: string): Promise<Record<string, number> & { mutationsAppliedByKey: Record<string, number> }> {
  const res = await fetch(`${topo.emulatorUrl}/_emulator/shops/${domain}/counters`);
  return (await res.json()) as Record<string, number> & { mutationsAppliedByKey: Record<string, number> };
}

function driftOf(traffic: Traffic, levels: Map<string, ShopifyLevel>): { keys: number; units: number; worst: string[] } {
  let keys = 0;
  let units = 0;
  const worst: string[] = [];
  for (const [key, e] of traffic.expected()) {
    const actual = levels.get(key)?.available ?? NaN;
    if (actual !== e.ats) {
      keys += 1;
      units += Math.abs(actual - e.ats);
      if (worst.length < 5) worst.push(`${key}: Shopify ${actual}, ATS ${e.ats} (erp ${e.erp} - wms ${e.wms} - pos ${e.pos} - claims ${e.openClaims})`);
    }
  }
  return { keys, units, worst };
}

/** Stops the schedules, waits for quiet, runs the final reconciliation; returns what it corrected. */
export async function quiesce(topo: Topology, traffic: Traffic, timeoutMs: number, log: (s: string) => void): Promise<{ figures: { name: string; value: string }[]; temporal: Client; db: pg.Pool; reconciled: boolean }> {
  const figures: { name: string; value: string }[] = [];
  const deadline = Date.now() + timeoutMs;
  await traffic.settle(Math.max(10_000, deadline - Date.now()));
  const connection = await Connection.connect({ address: topo.temporalAddress });
  const temporal = new Client({ connection });
  const db = new pg.Pool({ connectionString: topo.databaseUrl, max: 4 });
  // The harness's own clients ride out a PostgreSQL restart as the application's do (src/db/pool.ts): an error on an
  // idle or checked-out client must not kill the harness with an unhandled 'error' event.
  db.on('error', () => undefined);
  db.on('connect', (client) => client.on('error', () => undefined));

  // No new scheduled runs during the audit; a run in progress is waited for below.
  for (const id of [`reconcile:${traffic.shop.id}`, ...Object.values(SOURCE_NAMES).map((s) => `delta-sync:${s}`)]) {
    await temporal.schedule.getHandle(id).pause('chaos: audit').catch((e) => log(`pause ${id}: ${(e as Error).message}`));
  }
  const t0 = Date.now();
  await Promise.race([emulatorControl(topo.emulatorUrl, '/webhooks/drain'), sleep(Math.max(5_000, deadline - Date.now()))]);
  figures.push({ name: 'webhooks drained after the faults stopped', value: `${((Date.now() - t0) / 1000).toFixed(1)} s` });
  // The server's outbox: every delivery handed to Temporal (the sweeper re-drives what a kill left pending).
  for (;;) {
    const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE outcome = 'pending'`);
    if (Number(rows[0]!.n) === 0 || Date.now() > deadline) {
      figures.push({ name: 'webhook deliveries left pending in the outbox', value: rows[0]!.n });
      break;
    }
    await sleep(500);
  }
  // The ingest routes' outboxes (issue 17: source events, allocations and orders answered 202 once committed, handed
  // to Temporal by the server's sweeper), where the schema has them: every row handed off.
  const { rows: outboxes } = await db.query<{ name: string }>(
    `SELECT name FROM unnest(ARRAY['refresh_handoffs', 'reservation_handoffs']) AS name WHERE to_regclass(name) IS NOT NULL`,
  );
  for (const { name } of outboxes) {
    for (;;) {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
      if (Number(rows[0]!.n) === 0 || Date.now() > deadline) {
        figures.push({ name: `${name} rows left in the outbox`, value: rows[0]!.n });
        break;
      }
      await sleep(500);
    }
  }
  // Orders the channel gave up sending: does the system hold them all the same (an attempt that timed out on the
  // channel's side may have been taken; asked once the outboxes are empty)? Those count as delivered.
  const refusedIds = traffic.refusedOrderIds;
  if (refusedIds.length > 0) {
    const { rows } = await db.query<{ order_id: string }>(
      `SELECT order_id FROM reservations WHERE shop_id = $1 AND order_id = ANY($2::text[]) UNION SELECT order_id FROM claim_lines WHERE shop_id = $1 AND order_id = ANY($2::text[])`,
      [traffic.shop.id, refusedIds],
    );
    const taken = traffic.resolveRefusedOrders(new Set(rows.map((r) => r.order_id)));
    figures.push({ name: 'orders the channel gave up sending that the system holds all the same', value: `${taken} of ${refusedIds.length}` });
  }
  // A scheduled run in progress (paused schedules start no new ones) ends before the final reconciliation.
  const s0 = Date.now();
  await waitForScheduledRuns(temporal, deadline);
  figures.push({ name: 'scheduled runs in progress ended', value: `${((Date.now() - s0) / 1000).toFixed(1)} s` });

  const before = driftOf(traffic, await shopifyLevels(topo, traffic));
  figures.push({ name: 'drift before the final reconciliation (keys / units)', value: `${before.keys} / ${before.units}` });
  let reconciled: string;
  try {
    const out = await topo.cli('reconcile', ['reconcile', '--shop', traffic.shop.id], Math.max(60_000, deadline - Date.now()));
    reconciled = (out.split('\n').find((l) => l.includes('key(s) checked')) ?? out.trim().split('\n').pop() ?? '').replace(/^.*?: /, '');
  } catch (e) {
    reconciled = `did not finish: ${(e as Error).message.split('\n')[0]}`;
  }
  figures.push({ name: 'final reconciliation', value: reconciled });
  const missed = await db.query<{ n: string }>(`SELECT count(*) AS n FROM alerts WHERE kind = 'missed_webhooks'`).catch(() => ({ rows: [{ n: '?' }] }));
  figures.push({ name: 'missed-webhook alerts raised by reconciliation', value: missed.rows[0]!.n });

  // Quiet: nothing left that should end (an activity lost with a killed worker is retried only after its
  // StartToClose), and Shopify stops changing at the ATS.
  const q0 = Date.now();
  let last = '';
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const levels = await shopifyLevels(topo, traffic);
    const snap = JSON.stringify([...levels.values()]);
    if (snap !== last) {
      last = snap;
      stableSince = Date.now();
    }
    if (Date.now() - stableSince > 4000 && driftOf(traffic, levels).keys === 0 && (await pendingEnds(temporal, traffic)).length === 0) break;
    await sleep(1000);
  }
  figures.push({ name: 'quiet after the final reconciliation', value: `${((Date.now() - q0) / 1000).toFixed(1)} s${Date.now() >= deadline ? ' (timed out: audited as it stood)' : ''}` });
  return { figures, temporal, db, reconciled: !reconciled.startsWith('did not finish') };
}

/** Executions that must have ended by now: scheduled runs, and the reservations of cancelled orders. */
async function pendingEnds(temporal: Client, traffic: Traffic): Promise<string[]> {
  const shopId = traffic.shop.id;
  const out: string[] = [];
  const running = new Set<string>();
  for await (const wf of temporal.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    if (wf.type === 'reconcileWorkflow' || wf.type === 'deltaSyncWorkflow') out.push(`${wf.workflowId} (${wf.type})`);
    running.add(wf.workflowId);
  }
  for (const o of traffic.orders.values()) {
    const id = `reservation:${shopId}:${o.dbOrderId}`;
    if (traffic.effectiveState(o) === 'cancelled' && running.has(id)) out.push(`${id} (cancelled order)`);
  }
  return out;
}

async function waitForScheduledRuns(temporal: Client, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    let running = 0;
    for await (const _ of temporal.workflow.list({ query: `ExecutionStatus = "Running" AND (WorkflowType = "reconcileWorkflow" OR WorkflowType = "deltaSyncWorkflow")` })) running += 1;
    if (running === 0) return;
    await sleep(1000);
  }
}

/** Every string in a history, payloads decoded (they are JSON bytes), so a leak inside a payload is found. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
}

export async function audit(topo: Topology, traffic: Traffic, temporal: Client, db: pg.Pool, ledgerErrors: string[]): Promise<AuditResult> {
  const invariants: Invariant[] = [];
  const figures: { name: string; value: string }[] = [];
  const shop = traffic.shop;

  // 1. Every order's units counted exactly once.
  const { rows: lines } = await db.query<{ order_id: string; sku: string; claimed: number; allocated: number }>(
    `SELECT order_id, sku, sum(claimed)::int AS claimed, sum(allocated)::int AS allocated FROM claim_lines WHERE shop_id = $1 GROUP BY order_id, sku`,
    [shop.id],
  );
  const byOrder = new Map<string, { sku: string; claimed: number; allocated: number }[]>();
  for (const l of lines) byOrder.set(l.order_id, [...(byOrder.get(l.order_id) ?? []), l]);
  let lost = 0;
  let doubled = 0;
  const examples: string[] = [];
  const ourOrders = new Set<string>();
  for (const o of traffic.orders.values()) {
    ourOrders.add(o.dbOrderId);
    const state = traffic.effectiveState(o);
    const rows = byOrder.get(o.dbOrderId) ?? [];
    const g = rows.find((r) => r.sku === o.sku) ?? { claimed: 0, allocated: 0 };
    const other = rows.filter((r) => r.sku !== o.sku).reduce((s, r) => s + r.claimed, 0);
    // open: counted only through its claim (the WMS total holds none of it). allocated: the WMS total holds
    // these units, so any unit still claimed counts twice. cancelled: nothing may still be held.
    // absent: the channel gave up sending it and the system does not hold it (resolveRefusedOrders): nothing to count.
    const l = state === 'open' ? Math.max(0, o.quantity - g.claimed) : 0;
    const d = (state === 'open' ? Math.max(0, g.claimed - o.quantity) : g.claimed) + other;
    if ((l || d) && examples.length < 5) examples.push(`order ${o.dbOrderId} (${o.channel}, ${o.state}${state !== o.state ? `, counted ${state}` : ''}) ${o.sku}@${o.locationId}: ${o.quantity} ordered, claimed ${g.claimed}, allocated ${g.allocated}`);
    lost += l;
    doubled += d;
  }
  const unknownOrders = [...byOrder.keys()].filter((id) => !ourOrders.has(id));
  invariants.push({ name: 'order units lost (claimed nowhere)', value: String(lost), ok: lost === 0, ...(lost ? { detail: examples.join('; ') } : {}) });
  invariants.push({ name: 'order units doubled (claimed and in the WMS total, or held after cancel)', value: String(doubled), ok: doubled === 0, ...(doubled ? { detail: examples.join('; ') } : {}) });
  invariants.push({ name: 'claims of orders nobody placed', value: String(unknownOrders.length), ok: unknownOrders.length === 0, ...(unknownOrders.length ? { detail: unknownOrders.slice(0, 5).join(', ') } : {}) });

  // 2. No Shopify mutation applied twice for one idempotency key.
  const c = await counters(topo, shop.domain);
  const twice = Object.entries(c.mutationsAppliedByKey).filter(([, n]) => n > 1);
  invariants.push({
    name: 'Shopify mutations applied twice for one idempotency key',
    value: `${twice.length} (of ${Object.keys(c.mutationsAppliedByKey).length} keys, ${c.idempotentReplays} replays)`,
    ok: twice.length === 0,
    ...(twice.length ? { detail: twice.slice(0, 5).map(([k, n]) => `${k} x${n}`).join(', ') } : {}),
  });
  figures.push({ name: 'Shopify calls / 5xx (after apply) / THROTTLED / mutations applied', value: `${c.calls} / ${c.errors5xx} (${c.errors5xxAfterApply}) / ${c.throttled} / ${c.mutationsApplied}` });
  figures.push({ name: 'webhooks sent / failed attempts / duplicated / reordered / dropped', value: `${c.webhooksSent} / ${c.webhooksFailed} / ${c.webhooksDuplicated} / ${c.webhooksReordered} / ${c.webhooksDropped}` });

  // 3. No failed workflow; none still running that should have ended.
  const failed: string[] = [];
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const wf of temporal.workflow.list()) {
    runs.push({ workflowId: wf.workflowId, runId: wf.runId });
    if (['FAILED', 'TIMED_OUT', 'TERMINATED'].includes(wf.status.name)) failed.push(`${wf.workflowId} (${wf.type}) ${wf.status.name}`);
  }
  const shouldHaveEnded = await pendingEnds(temporal, traffic);
  invariants.push({ name: 'failed workflows (failed, timed out, terminated)', value: String(failed.length), ok: failed.length === 0, ...(failed.length ? { detail: failed.slice(0, 5).join('; ') } : {}) });
  invariants.push({ name: 'workflows still running that should have ended', value: String(shouldHaveEnded.length), ok: shouldHaveEnded.length === 0, ...(shouldHaveEnded.length ? { detail: shouldHaveEnded.slice(0, 5).join('; ') } : {}) });
  figures.push({ name: 'workflow executions (runs, including continued-as-new)', value: String(runs.length) });

  // 4. Shopify's available equals ATS for every key.
  const drift = driftOf(traffic, await shopifyLevels(topo, traffic));
  invariants.push({ name: `keys where Shopify available != ATS (of ${traffic.keys.length})`, value: `${drift.keys} (${drift.units} units)`, ok: drift.keys === 0, ...(drift.keys ? { detail: drift.worst.join('; ') } : {}) });

  // 5. Every source event's effect is present: recorded once, and the newest reading is the one in effect.
  let missingEvents = 0;
  for (const [source, ids] of traffic.sourceEventIds) {
    const { rows } = await db.query<{ external_id: string }>(`SELECT external_id FROM source_changes WHERE source = $1 AND external_id = ANY($2::text[])`, [source, [...ids]]);
    missingEvents += ids.size - rows.length;
  }
  const { rows: snaps } = await db.query<{ source: string; sku: string; location_id: string; quantity: number }>(`SELECT source, sku, location_id, quantity FROM source_snapshots WHERE shop_id = $1`, [shop.id]);
  const snap = new Map(snaps.map((s) => [`${s.source}|${s.sku}|${s.location_id}`, s.quantity]));
  const stale: string[] = [];
  for (const [k, want] of traffic.readings) {
    const got = snap.get(k);
    if (got !== want.quantity) stale.push(`${k}: stored ${got}, newest taken ${want.quantity}`);
  }
  const sent = [...traffic.sourceEventIds.values()].reduce((s, ids) => s + ids.size, 0);
  invariants.push({ name: `source events taken and not recorded (of ${sent})`, value: String(missingEvents), ok: missingEvents === 0 });
  invariants.push({ name: 'source readings not in effect (stored != newest taken)', value: String(stale.length), ok: stale.length === 0, ...(stale.length ? { detail: stale.slice(0, 5).join('; ') } : {}) });
  const book = traffic.bookMismatches();
  invariants.push({ name: "harness self-check: the sources' books match what they reported", value: String(book.length), ok: book.length === 0, ...(book.length ? { detail: book.slice(0, 3).join('; ') } : {}) });
  invariants.push({ name: 'requests the server refused with an answer (4xx) or the driver could not make', value: String(traffic.stats.refused.length), ok: traffic.stats.refused.length === 0, ...(traffic.stats.refused.length ? { detail: traffic.stats.refused.slice(0, 3).join('; ') } : {}) });
  // Refused for good: the server answered 5xx (or nothing) for the sender's whole retry budget. The ground truth
  // dropped them as the senders' books did; a few are the price of outages longer than a sender waits, many are
  // a system that does not keep up.
  const gaveUp = traffic.stats.gaveUp.length;
  const bound = Math.min(MAX_REFUSED_FOR_GOOD, Math.floor(traffic.stats.deliveries * MAX_REFUSED_FOR_GOOD_SHARE));
  const g = traffic.gaveUp;
  invariants.push({
    name: `requests refused for good after ${RETRY_BUDGET_S} s of retries (bound: ${MAX_REFUSED_FOR_GOOD_SHARE * 100}% of ${traffic.stats.deliveries}, at most ${MAX_REFUSED_FOR_GOOD})`,
    value: `${gaveUp} (orders ${g.orders}, cancels ${g.cancels}, allocations ${g.allocations}, source events ${g.sourceEvents})`,
    ok: gaveUp <= bound,
    ...(gaveUp > bound ? { detail: traffic.stats.gaveUp.slice(0, 3).join('; ') } : {}),
  });
  figures.push({ name: 'requests that ran out of retries but were recorded by the server (counted as taken)', value: String(traffic.stats.gaveUpButRecorded) });

  // 6. No personal data or secret in any log line or workflow history.
  const needles = [...traffic.personalData, ...Object.values(topo.secrets)];
  // Thousands of needles against every line and history: a text is searched for them only when it holds one of
  // their 5-character prefixes (one regular expression), which nearly no text does.
  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const prefilter = new RegExp([...new Set(needles.map((n) => n.slice(0, 5)))].map(escape).join('|'));
  const found = (text: string) => (prefilter.test(text) ? needles.filter((n) => text.includes(n)) : []);
  const leaks: string[] = [];
  const logDir = join(topo.runDir, 'logs');
  let logLines = 0;
  for (const file of readdirSync(logDir)) {
    // The emulator plays Shopify, which holds the customer data by right; everything else is ours.
    if (file === 'pids' || file.startsWith('emulator')) continue;
    const lines = readFileSync(join(logDir, file), 'utf8').split('\n');
    logLines += lines.length;
    for (const [i, line] of lines.entries()) {
      for (const n of found(line)) leaks.push(`${file}:${i + 1} contains ${n.slice(0, 12)}…`);
    }
  }
  let histories = 0;
  let lostAttempts = 0;
  for (let i = 0; i < runs.length; i += 8) {
    await Promise.all(
      runs.slice(i, i + 8).map(async ({ workflowId, runId }) => {
        const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
        histories += 1;
        for (const e of history.events ?? []) {
          if (e.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo) lostAttempts += 1;
        }
        const text = historyText(history);
        for (const n of found(text)) leaks.push(`history of ${workflowId} (run ${runId}) contains ${n.slice(0, 12)}…`);
      }),
    );
  }
  figures.push({ name: 'activities whose last attempt followed a timed-out one (attempt lost with a killed worker or server)', value: String(lostAttempts) });
  invariants.push({
    name: `personal data or secrets in ${logLines} log lines and ${histories} workflow histories (${needles.length} needles)`,
    value: String(leaks.length),
    ok: leaks.length === 0,
    ...(leaks.length ? { detail: leaks.slice(0, 5).join('; ') } : {}),
  });
  invariants.push({ name: 'faults that could not be injected', value: String(ledgerErrors.length), ok: ledgerErrors.length === 0, ...(ledgerErrors.length ? { detail: ledgerErrors.slice(0, 3).join('; ') } : {}) });
  return { invariants, figures };
}
