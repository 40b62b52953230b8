import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildProcessEntry } from '../reservations/fixtures/worker-process-build.js';

const builds: string[] = [];
afterAll(() => builds.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('a PostgreSQL connection terminated under a checked-out client', () => {
  // Found by bench/chaos (pg_terminate_backend every ~20 s): the worker and the server died of an unhandled
  // 'error' event on a pg Client held between two statements of a transaction. The pool listened to idle clients only.
  it('does not crash the process: the held client refuses its next statement and the pool serves the next query', async () => {
    const built = await buildProcessEntry(fileURLToPath(new URL('./fixtures/terminated-checked-out-client.ts', import.meta.url)));
    builds.push(built.dir);
    const run = spawnSync(process.execPath, [built.file], { env: { ...process.env, DATABASE_URL: inject('databaseUrl') }, encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).not.toContain("Unhandled 'error' event");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/the held client refused: .+; the pool answers 1/);
  }, 60_000);
});
