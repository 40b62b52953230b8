import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildProcessEntry } from '../reservations/fixtures/worker-process-build.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  output(): string;
  printed(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** The `inventory-sync` CLI compiled once per test file, run as separate processes with their own environment. */
export async function buildCli() {
  const entry = await buildProcessEntry(fileURLToPath(new URL('./fixtures/cli-process.ts', import.meta.url)));
  // Only what the test passes: no INVENTORY_SYNC_CONFIG or tokens leak in from the runner's environment.
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn' };
  const start = (args: string[], env: Record<string, string>): RunningCli => {
    const child = spawn(process.execPath, [entry.file, ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const waiters: { text: string; resolve: () => void }[] = [];
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      for (const w of [...waiters]) if (out.includes(w.text)) w.resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return {
      child,
      exited,
      output: () => out,
      printed: (text, timeoutMs = 30_000) =>
        new Promise((resolve, reject) => {
          if (out.includes(text)) return resolve();
          const timer = setTimeout(() => reject(new Error(`the CLI did not print "${text}" within ${timeoutMs} ms; it printed:\n${out}`)), timeoutMs);
          waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
        }),
      stop: async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
  };
  return {
    /** Where the compiled CLI lives (a prebuilt workflow bundle goes in src/workers/ there). */
    dir: entry.dir,
    start,
    /** Runs a command to its end (killed after timeoutMs). */
    run: async (args: string[], env: Record<string, string>, timeoutMs = 40_000): Promise<CliResult> => {
      const p = spawn(process.execPath, [entry.file, ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
      clearTimeout(timer);
      return { code, stdout, stderr };
    },
    dispose: () => rmSync(entry.dir, { recursive: true, force: true }),
  };
}
