import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, parseChaosOptions } from '../../bench/chaos/options.js';

const silent = { writeOut: () => undefined, writeErr: () => undefined };
const parse = (argv: string[]) => parseChaosOptions(argv, silent);

function refusal(argv: string[]): string {
  let said = '';
  try {
    parseChaosOptions(argv, { writeOut: () => undefined, writeErr: (s) => void (said += s) });
  } catch (e) {
    expect(e).toBeInstanceOf(CommanderError);
    return said;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('npm run chaos: knobs', () => {
  it('defaults to the short profile with every fault, a drawn seed', () => {
    const o = parse([]);
    expect(o.profile).toBe('short');
    expect([...o.faults]).toEqual([...FAULT_KINDS]);
    expect(Number.isSafeInteger(o.seed)).toBe(true);
    // CI runs it after npm test: setup, faults, quiet and audit must fit 3 minutes.
    expect(o.settings.faultSeconds + o.settings.quietTimeoutSeconds).toBeLessThanOrEqual(150);
  });

  it('soak is 15 minutes by default; --minutes sets it; --seed, --faults and --without are applied', () => {
    expect(parse(['--profile', 'soak']).settings.faultSeconds).toBe(900);
    expect(parse(['--profile', 'soak', '--minutes', '2.5']).settings.faultSeconds).toBe(150);
    expect(parse(['--seed', '42']).seed).toBe(42);
    expect([...parse(['--faults', 'worker-kill,webhook-drop']).faults]).toEqual(['worker-kill', 'webhook-drop']);
    expect(parse(['--without', 'temporal-kill']).faults.has('temporal-kill')).toBe(false);
  });

  it('an unknown profile is refused, naming it and the known ones', () => {
    const said = refusal(['--profile', 'marathon']);
    expect(said).toContain("'marathon'");
    expect(said).toContain('short, soak');
  });

  it('--temporal picks the Temporal server (dev by default, or postgres); another name is refused', () => {
    expect(parse([]).temporal).toBe('dev');
    expect(parse(['--temporal', 'postgres']).temporal).toBe('postgres');
    const said = refusal(['--temporal', 'cassandra']);
    expect(said).toContain("'cassandra'");
    expect(said).toContain('dev, postgres');
  });

  it('an unknown fault is refused, naming it (also inside a list, and in --without)', () => {
    expect(refusal(['--faults', 'worker-kill,disk-full'])).toMatch(/unknown fault "disk-full"; known faults: worker-kill, /);
    expect(refusal(['--without', 'cosmic-ray'])).toContain('unknown fault "cosmic-ray"');
  });

  it('bad numbers and stray arguments are refused, naming them', () => {
    expect(refusal(['--minutes', '-3'])).toContain('--minutes: expected a positive number, got "-3"');
    expect(refusal(['--seed', 'abc'])).toContain('expected a whole number, got "abc"');
    expect(refusal(['--profiel', 'soak'])).toContain("unknown option '--profiel'");
  });

  it('the command exits 2 naming a bad knob, before starting anything', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    let out = '';
    let status: number | null = 0;
    try {
      execFileSync(process.execPath, ['bench/chaos/launch.mjs', '--profile', 'short', '--faults', 'meteor'], { cwd: root, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, CHAOS_SKIP_BUILD: '1' } });
    } catch (e) {
      const err = e as { status: number | null; stderr: string };
      status = err.status;
      out = err.stderr;
    }
    expect(status).toBe(2);
    expect(out).toContain('unknown fault "meteor"');
  }, 60_000);
});
