import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';
import { describe, expect, it } from 'vitest';
import { temporalAnswers } from '../../src/temporal/dev-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('the Temporal dev server launcher', () => {
  it('takes its server down with it when the process that started it is killed with SIGKILL', async () => {
    const outDir = `${ROOT}node_modules/.cache/inventory-sync-test/dev-server-${process.pid}`;
    mkdirSync(outDir, { recursive: true });
    await build({
      input: fileURLToPath(new URL('./fixtures/dev-server-process.ts', import.meta.url)),
      platform: 'node',
      external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
      output: { dir: outDir, format: 'esm', preserveModules: true, preserveModulesRoot: ROOT, entryFileNames: '[name].mjs' },
      logLevel: 'silent',
    });
    const port = await freePort();
    const child = spawn(process.execPath, [`${outDir}/test/foundation/fixtures/dev-server-process.mjs`], {
      env: { ...process.env, DEV_SERVER_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    expect(await temporalAnswers(`127.0.0.1:${port}`)).toBe(true);

    child.kill('SIGKILL');
    await expect.poll(() => temporalAnswers(`127.0.0.1:${port}`, 500), { timeout: 20_000, interval: 500 }).toBe(false);
  });
});
