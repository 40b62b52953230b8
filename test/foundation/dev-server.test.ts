import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';
import { describe, expect, it } from 'vitest';
import { temporalAnswers } from '../../src/temporal/dev-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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
    const child = spawn(process.execPath, [`${outDir}/test/foundation/fixtures/dev-server-process.mjs`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => {
        const m = /ready (\S+)/.exec(b.toString());
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    expect(await temporalAnswers(address)).toBe(true);

    child.kill('SIGKILL');
    await expect.poll(() => temporalAnswers(address, 500), { timeout: 20_000, interval: 500 }).toBe(false);
  });
});
