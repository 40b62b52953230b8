import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { buildProcessEntry } from '../reservations/fixtures/worker-process-build.js';

export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches. */
  printed(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Builds `inventory-sync` from the sources once per file; the worker finds the run's prebuilt workflow bundle. */
export async function buildCli(): Promise<{ file: string; dir: string }> {
  const entry = await buildProcessEntry(fileURLToPath(new URL('./fixtures/cli-process.ts', import.meta.url)));
  mkdirSync(`${entry.dir}/src/workers`, { recursive: true });
  copyFileSync(inject('workflowBundlePath'), `${entry.dir}/src/workers/workflow-bundle.js`);
  return entry;
}

export function runCli(file: string, args: string[], env: Record<string, string>): CliChild {
  const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = out.match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on('data', (c: Buffer) => ((out += c.toString()), check()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    printed: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const m = out.match(pattern);
        if (m) return resolve(m);
        const timer = setTimeout(() => reject(new Error(`did not print ${pattern} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ pattern, resolve: (x) => (clearTimeout(timer), resolve(x)) });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`exited (${code}) before printing ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        });
      }),
  };
}
