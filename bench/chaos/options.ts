/**
 * The harness's knobs, parsed by commander: a profile (short for CI, soak for the long run), the seed of the
 * fault schedule and the traffic, which faults to inject, how long. An unknown profile or fault name is an
 * error that names it and lists the known ones.
 */
import { Command, InvalidArgumentError, Option } from 'commander';

export const FAULT_KINDS = [
  'worker-kill',
  'server-kill',
  'temporal-kill',
  'redis-flush',
  'redis-restart',
  'pg-terminate',
  'pg-restart',
  'shopify-5xx',
  'shopify-throttle',
  'shopify-latency',
  'webhook-duplicate',
  'webhook-reorder',
  'webhook-drop',
  'source-resend',
  'source-reorder',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const PROFILES = ['short', 'soak'] as const;
export type ProfileName = (typeof PROFILES)[number];

/** The Temporal server the run uses: the CLI's dev server on a SQLite file, or the server on PostgreSQL (issue 14). */
export const TEMPORAL_SERVERS = ['dev', 'postgres'] as const;
export type TemporalServerKind = (typeof TEMPORAL_SERVERS)[number];

export interface Profile {
  /** How long traffic and faults run. */
  faultSeconds: number;
  /** Orders per second across all channels (the trace's rate). */
  ordersPerSecond: number;
  skus: number;
  /** How often each process-level fault fires (seconds between two of a kind), jittered by the seed. */
  every: Partial<Record<FaultKind, number>>;
  /** The reconciliation Schedule while faults run (5-field cron). */
  reconcileCron: string;
  /** Longest wait for the system to go quiet after the faults stop. */
  quietTimeoutSeconds: number;
  /** Shopify's webhook retry schedule (8 retries over ~4 h) divided by this. */
  webhookRetryCompression: number;
}

export const PROFILE_SETTINGS: Record<ProfileName, Profile> = {
  short: {
    faultSeconds: 50,
    ordersPerSecond: 4,
    skus: 12,
    every: {
      'worker-kill': 10,
      'server-kill': 25,
      'temporal-kill': 35,
      'redis-flush': 20,
      'redis-restart': 35,
      'pg-terminate': 15,
      'pg-restart': 35,
      'shopify-throttle': 15,
      'shopify-latency': 15,
    },
    // Nightly, as deployed: a scheduled run whose activity dies with a killed worker waits out its 5-minute
    // StartToClose, longer than this profile (docs/reliability.md). The final reconciliation runs the missed-order path.
    reconcileCron: '0 2 * * *',
    quietTimeoutSeconds: 85,
    webhookRetryCompression: 60,
  },
  soak: {
    faultSeconds: 15 * 60,
    // What the Temporal dev server on a SQLite file keeps up with on this shared 2-core machine (5/s built a backlog
    // that outlasted the quiet period: docs/reliability.md).
    ordersPerSecond: 2.5,
    skus: 40,
    every: {
      'worker-kill': 10,
      'server-kill': 45,
      'temporal-kill': 90,
      'redis-flush': 40,
      'redis-restart': 75,
      'pg-terminate': 20,
      'pg-restart': 80,
      'shopify-throttle': 20,
      'shopify-latency': 20,
    },
    reconcileCron: '*/2 * * * *',
    quietTimeoutSeconds: 300,
    webhookRetryCompression: 30,
  },
};

export interface ChaosOptions {
  profile: ProfileName;
  settings: Profile;
  seed: number;
  faults: Set<FaultKind>;
  keep: boolean;
  temporal: TemporalServerKind;
}

function faultList(value: string): FaultKind[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(FAULT_KINDS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`unknown fault ${unknown.map((u) => `"${u}"`).join(', ')}; known faults: ${FAULT_KINDS.join(', ')}`);
  }
  return names as FaultKind[];
}

function positiveNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what}: expected a positive number, got "${value}"`);
    return n;
  };
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
}

/** Parses argv (without node and the script); throws a commander error naming any bad knob. */
export function parseChaosOptions(argv: string[], onOutput?: { writeOut(s: string): void; writeErr(s: string): void }): ChaosOptions {
  const program = new Command('npm run chaos --')
    .description('the whole system, every component in its own process, under all faults at once; then an audit of every invariant')
    .addOption(new Option('--profile <name>', 'short (CI, at most 3 minutes) or soak').choices(PROFILES).default('short'))
    .option('--seed <n>', 'seed of the fault schedule and the traffic (default: drawn and printed)', integer)
    .option('--minutes <n>', 'how long traffic and faults run (soak default 15)', positiveNumber('--minutes'))
    .option('--rate <orders/s>', 'orders per second across all channels', positiveNumber('--rate'))
    .option('--faults <list>', `only these faults (comma-separated): ${FAULT_KINDS.join(', ')}`, faultList)
    .option('--without <list>', 'every fault but these (comma-separated)', faultList)
    .option('--keep', 'keep the run directory (logs, PostgreSQL data, Temporal database) after a green run')
    .addOption(
      new Option('--temporal <server>', "the Temporal server: dev (the CLI's dev server on a SQLite file) or postgres (the server on PostgreSQL, in the harness's own cluster)")
        .choices(TEMPORAL_SERVERS)
        .default('dev'),
    )
    .exitOverride()
    .allowExcessArguments(false);
  if (onOutput) program.configureOutput(onOutput);
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ profile: ProfileName; seed?: number; minutes?: number; rate?: number; faults?: FaultKind[]; without?: FaultKind[]; keep?: boolean; temporal: TemporalServerKind }>();
  const settings = { ...PROFILE_SETTINGS[o.profile], every: { ...PROFILE_SETTINGS[o.profile].every } };
  if (o.minutes !== undefined) settings.faultSeconds = Math.round(o.minutes * 60);
  if (o.rate !== undefined) settings.ordersPerSecond = o.rate;
  const faults = new Set<FaultKind>(o.faults ?? FAULT_KINDS);
  for (const f of o.without ?? []) faults.delete(f);
  return { profile: o.profile, settings, seed: o.seed ?? Math.floor(Math.random() * 2 ** 31), faults, keep: !!o.keep, temporal: o.temporal };
}
