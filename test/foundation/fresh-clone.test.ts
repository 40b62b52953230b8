import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The README promises two commands on a fresh clone. `npm start` once failed with `tsc: not found` because
 * nothing installed the dependencies: prestart/pretest now run `npm ci` when node_modules is missing or older
 * than package-lock.json. The clone installs for real once; the other cases only ask for the decision.
 */
describe('a fresh clone needs only npm start / npm test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isync-clone-'));
  const clone = join(dir, 'inventory-sync');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const decision = () => execFileSync(process.execPath, ['scripts/ensure-deps.mjs', '--check'], { cwd: clone, encoding: 'utf8' }).trim();

  it('installs on the first npm start/test, and only when node_modules is missing or stale', () => {
    execFileSync('git', ['clone', '--quiet', ROOT, clone]);
    expect(decision()).toBe('install needed: node_modules is missing');

    const pkg = JSON.parse(execFileSync('git', ['show', 'HEAD:package.json'], { cwd: clone, encoding: 'utf8' })) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).toBe('node scripts/ensure-deps.mjs');
    expect(pkg.scripts.pretest).toBe('node scripts/ensure-deps.mjs');

    // What `npm start` runs before the build (npm runs prestart by itself); the real install, once.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    const run = spawnSync('npm', ['run', 'prestart'], { cwd: clone, env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('installing dependencies (node_modules is missing): npm ci');
    expect(existsSync(join(clone, 'node_modules/.bin/tsc'))).toBe(true);
    expect(existsSync(join(clone, 'node_modules/.bin/vitest'))).toBe(true);
    expect(decision()).toBe('dependencies up to date');

    const again = spawnSync('npm', ['run', 'pretest'], { cwd: clone, env, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('installing');

    // A pull that changes package-lock.json, then an install that never finished.
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(clone, 'package-lock.json'), future, future);
    expect(decision()).toBe('install needed: package-lock.json is newer than node_modules');
    unlinkSync(join(clone, 'node_modules/.package-lock.json'));
    expect(decision()).toBe('install needed: node_modules is incomplete (no finished install)');
  }, 300_000);
});
