#!/usr/bin/env node
// `npm start` and `npm test` run this first (prestart/pretest): on a fresh clone, or after package-lock.json
// changed, it runs `npm ci`; otherwise it does nothing. `--check` prints the decision without installing.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Why the dependencies must be installed in `root`, or null when node_modules matches package-lock.json. */
export function installReason(root) {
  const lock = join(root, 'package-lock.json');
  // npm writes node_modules/.package-lock.json at the end of every install: its absence means none finished.
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(installed)) return 'node_modules is incomplete (no finished install)';
  if (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs) return 'package-lock.json is newer than node_modules';
  return null;
}

const root = process.cwd();
const reason = installReason(root);
if (process.argv.includes('--check')) {
  process.stdout.write(`${reason === null ? 'dependencies up to date' : `install needed: ${reason}`}\n`);
} else if (reason !== null) {
  process.stdout.write(`installing dependencies (${reason}): npm ci\n`);
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const result = spawnSync(npm[0], [...npm[1], 'ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`npm ci failed (exit ${result.status ?? result.signal}); run it yourself to see why\n`);
    process.exit(result.status ?? 1);
  }
}
