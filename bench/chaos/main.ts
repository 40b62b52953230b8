/**
 * `npm run chaos -- --profile short|soak [--seed N] [--minutes M] [--faults a,b | --without a,b] [--keep]`
 *
 * The whole system, each component in its own process as deployed, under every fault at once on a seeded
 * schedule, driven by cross-channel traffic; then quiet, an audit of every invariant, two tables (faults injected
 * by kind and count; invariants with their values) and exit 1 naming each violation. Exit 2: bad knobs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { audit, quiesce, type Invariant } from './audit.js';
import { FaultLedger, startFaults } from './faults.js';
import { FAULT_KINDS, parseChaosOptions, type ChaosOptions, type FaultKind } from './options.js';
import { makeSecrets, startTopology, type ShopPlan, type Topology } from './topology.js';
import { ChaosTraffic, chaosTrace, setUpShop, trafficRng } from './traffic.js';

const started = Date.now();
const log = (s: string) => process.stdout.write(`[chaos ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${s}\n`);

function table(title: string, header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [`\n${title}`, line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function faultRows(opts: ChaosOptions, ledger: FaultLedger, traffic: ChaosTraffic, counters: Record<string, number>): string[][] {
  const emulatorCount: Partial<Record<FaultKind, string>> = {
    'shopify-5xx': `${counters.errors5xx ?? 0} (${counters.errors5xxAfterApply ?? 0} after apply)`,
    'webhook-duplicate': String(counters.webhooksDuplicated ?? 0),
    'webhook-reorder': String(counters.webhooksReordered ?? 0),
    'webhook-drop': String(counters.webhooksDropped ?? 0),
    'source-resend': String(traffic.sourceFaults.resent),
    'source-reorder': `${traffic.sourceFaults.delayed} (${traffic.sourceFaults.overtaken} overtaken by a newer reading)`,
  };
  return FAULT_KINDS.map((kind) => {
    if (!opts.faults.has(kind)) return [kind, 'off', ''];
    const count = emulatorCount[kind] ?? String(ledger.counts.get(kind) ?? 0);
    const notes = ledger.notes.get(kind) ?? [];
    const extra =
      kind === 'shopify-throttle'
        ? `${counters.throttled ?? 0} calls THROTTLED`
        : kind === 'pg-terminate'
          ? `${notes.reduce((s, n) => s + Number(n.split(' ')[0]), 0)} connections terminated`
          : kind === 'temporal-kill'
            ? notes.join(', ')
            : '';
    return [kind, count, extra];
  });
}

async function main(): Promise<number> {
  let opts: ChaosOptions;
  try {
    opts = parseChaosOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    throw e;
  }
  const p = opts.settings;
  log(`profile ${opts.profile}: ${p.faultSeconds} s of traffic (${p.ordersPerSecond} events/s) and faults, seed ${opts.seed}, Temporal ${opts.temporal === 'postgres' ? 'server on PostgreSQL' : 'dev server'}; faults: ${[...opts.faults].join(', ') || 'none'}`);
  log(`replay this run: npm run chaos -- --profile ${opts.profile} --seed ${opts.seed}${opts.profile === 'soak' ? ` --minutes ${p.faultSeconds / 60}` : ''}${opts.temporal === 'postgres' ? ' --temporal postgres' : ''}`);
  const runDir = mkdtempSync(join(tmpdir(), 'isync-chaos-'));
  const shop: ShopPlan = { id: 'chaos', domain: 'chaos-store.myshopify.com', plan: 'advanced' };
  let topo: Topology | undefined;
  const cleanup = () => topo?.supervisor.killAllNow();
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  let violations: Invariant[];
  try {
    topo = await startTopology({ runDir, shops: [shop], secrets: makeSecrets(opts.seed), reconcileCron: p.reconcileCron, deltaSyncMinutes: 1, missedOrderGraceSeconds: Math.max(2, Math.round(120 / p.webhookRetryCompression)), temporalServer: opts.temporal, log });
    const trace = chaosTrace(opts.seed, p.faultSeconds, p.ordersPerSecond, p.skus);
    const [schedules, seeded] = await Promise.all([topo.cli('schedules', ['schedules', 'apply']), setUpShop(topo, shop, trace)]);
    log(schedules.trim());
    const traffic = new ChaosTraffic(topo, shop, seeded, trace, trafficRng(opts.seed), opts.faults);
    await traffic.seedReadings();
    log(`shop of ${trace.skus.length} SKUs at ${trace.locations.join(', ')} seeded; trace of ${trace.events.length} events over ${p.faultSeconds} s; faults start`);

    const ledger = new FaultLedger();
    const faults = await startFaults(topo, p, opts.faults, opts.seed, ledger, log);
    const progress = setInterval(() => log(`faults so far: ${[...ledger.counts].map(([k, n]) => `${k} ${n}`).join(', ')}; driver retries ${traffic.stats.retries}, in flight ${traffic.inFlight}`), 15_000);
    // Faults last as long as the trace; sends still retrying then finish while the system recovers.
    const trafficDone = traffic.run();
    await Promise.race([trafficDone, new Promise((r) => setTimeout(r, p.faultSeconds * 1000))]);
    log('the trace is played; stopping faults and bringing everything back up');
    await faults.stop();
    await trafficDone;
    clearInterval(progress);
    log(`traffic done (the last answers came ${((Date.now() - started) / 1000).toFixed(0)} s into the run)`);
    log('quiet: waiting for sends, webhooks and the outbox; final reconciliation');
    const quiet = await quiesce(topo, traffic, p.quietTimeoutSeconds * 1000, log);
    traffic.writeTruth(runDir);
    const result = await audit(topo, traffic, quiet.temporal, quiet.db, ledger.errors);
    result.invariants.push({ name: 'the final reconciliation finished within the quiet period', value: quiet.reconciled ? 'yes' : 'no', ok: quiet.reconciled });
    const counters = (await (await fetch(`${topo.emulatorUrl}/_emulator/shops/${shop.domain}/counters`)).json()) as Record<string, number>;
    await quiet.db.end();
    await quiet.temporal.connection.close();

    const unplanned = topo.supervisor.processes.filter((x) => x.unplannedExits > 0).map((x) => `${x.spec.name} ${x.unplannedExits}`);
    const figures = [
      ...quiet.figures,
      ...result.figures,
      { name: 'traffic (trace events)', value: Object.entries(trace.events.reduce<Record<string, number>>((m, e) => ({ ...m, [e.kind]: (m[e.kind] ?? 0) + 1 }), {})).map(([k, n]) => `${k} ${n}`).join(', ') },
      { name: 'orders accepted (open / allocated / cancelled at the end)', value: (['open', 'allocated', 'cancelled'] as const).map((st) => [...traffic.orders.values()].filter((o) => o.state === st).length).join(' / ') },
      { name: 'driver lag behind the trace (worst)', value: `${((traffic.drive?.maxLagMs ?? 0) / 1000).toFixed(1)} s` },
      { name: 'orders as the system was told them (open / allocated / cancelled / never delivered)', value: (['open', 'allocated', 'cancelled', 'absent'] as const).map((st) => [...traffic.orders.values()].filter((o) => traffic.effectiveState(o) === st).length).join(' / ') },
      { name: 'driver requests / HTTP attempts / retries (server down, 5xx)', value: `${traffic.stats.deliveries} / ${traffic.stats.requests} / ${traffic.stats.retries}` },
      { name: 'components that exited on their own (restarted by the supervisor)', value: unplanned.join(', ') || 'none' },
    ];
    process.stdout.write(table(`Faults injected (profile ${opts.profile}, seed ${opts.seed}, ${p.faultSeconds} s)`, ['fault', 'count', 'detail'], faultRows(opts, ledger, traffic, counters)));
    process.stdout.write(table('Invariants', ['invariant', 'value', 'ok'], result.invariants.map((i) => [i.name, i.value, i.ok ? 'yes' : 'VIOLATED'])));
    process.stdout.write(table('Figures', ['figure', 'value'], figures.map((f) => [f.name, f.value])));
    process.stdout.write('\n');
    violations = result.invariants.filter((i) => !i.ok);
  } catch (e) {
    log(`run failed: ${(e as Error).stack ?? e}`);
    log(`logs kept in ${runDir}/logs`);
    await topo?.supervisor.stopAll();
    return 1;
  }
  await topo.supervisor.stopAll();
  if (violations.length > 0) {
    for (const v of violations) process.stderr.write(`VIOLATION: ${v.name}: ${v.value}${v.detail ? ` — ${v.detail}` : ''}\n`);
    log(`run directory kept: ${runDir} (logs/, truth.json)`);
    return 1;
  }
  log(`all invariants hold (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (opts.keep) log(`run directory kept: ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
  return 0;
}

process.exitCode = await main();
process.exit();
