/**
 * A small process supervisor for the chaos harness: every component runs as its own OS process (as deployed),
 * with its stdout and stderr appended to one log file per component (the auditor greps them), and can be
 * SIGKILLed and restarted. A component that dies on its own is restarted too, the way systemd or Kubernetes
 * would, and counted (`unplannedExits`).
 *
 * Every pid it starts is written to `pids`, and a watchdog shell kills exactly those pids when the harness
 * itself dies (even by SIGKILL), so an aborted CI run leaves no PostgreSQL, Redis or Temporal behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Resolves when the component answers; it is polled after every start. */
  ready: (log: () => string) => Promise<boolean>;
  readyTimeoutMs?: number;
  /** Restart on its own exit (default true). One-shot commands (migrate) say false. */
  restart?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Supervised {
  private child: ChildProcess | undefined;
  private logOffset = 0;
  private expectingExit = false;
  private stopped = false;
  private startedAt = 0;
  starts = 0;
  unplannedExits = 0;
  /** Started and answered its readiness check, and not exited since. */
  ready = false;
  readonly logFile: string;

  constructor(
    readonly spec: ProcessSpec,
    private readonly owner: Supervisor,
  ) {
    this.logFile = join(owner.logDir, `${spec.name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The log written since the last start. */
  logSinceStart(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(this.logOffset);
    } catch {
      return '';
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.expectingExit = false;
    this.ready = false;
    try {
      this.logOffset = statSync(this.logFile).size;
    } catch {
      this.logOffset = 0;
    }
    appendFileSync(this.logFile, `\n=== chaos: start #${this.starts + 1} of ${this.spec.name} at ${new Date().toISOString()}\n`);
    this.logOffset += 0;
    const fd = openSync(this.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', fd, fd],
      ...(this.spec.uid !== undefined ? { uid: this.spec.uid, gid: this.spec.gid } : {}),
    });
    closeSync(fd);
    this.child = child;
    this.starts += 1;
    this.startedAt = Date.now();
    this.owner.remember(child.pid);
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.ready = false;
      if (this.expectingExit || this.stopped) return;
      if (this.spec.restart === false) return;
      // Died on its own (e.g. a worker giving up on a dead dependency): restart it as a supervisor would.
      this.unplannedExits += 1;
      appendFileSync(this.logFile, `\n=== chaos: ${this.spec.name} exited on its own (${signal ?? code}); restarting\n`);
      const backoff = Date.now() - this.startedAt < 2000 ? 1000 : 200;
      void sleep(backoff).then(() => (this.stopped || this.child !== child ? undefined : this.start().catch((e) => this.owner.report(`${this.spec.name}: restart failed: ${(e as Error).message}`))));
    });
    await this.waitReady();
  }

  async waitReady(): Promise<void> {
    const deadline = Date.now() + (this.spec.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (await this.spec.ready(() => this.logSinceStart()).catch(() => false)) {
        this.ready = this.running;
        return;
      }
      if (Date.now() > deadline) throw new Error(`${this.spec.name} was not ready within ${this.spec.readyTimeoutMs ?? 60_000} ms; see ${this.logFile}`);
      await sleep(200);
    }
  }

  /** Sends a signal and waits for the process to exit (it is not restarted by the exit handler). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(signal);
    await this.start();
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopped = true;
    await this.kill(signal, 10_000);
  }

  /** Runs a one-shot command to completion; rejects with its log tail on a non-zero exit. */
  async runToEnd(timeoutMs = 120_000): Promise<string> {
    this.spec.restart = false;
    const offset = (() => {
      try {
        return statSync(this.logFile).size;
      } catch {
        return 0;
      }
    })();
    const fd = openSync(this.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, { cwd: this.spec.cwd, env: { ...process.env, ...this.spec.env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.owner.remember(child.pid);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const output = readFileSync(this.logFile, 'utf8').slice(offset);
    if (code !== 0) throw new Error(`${this.spec.name} exited ${code}:\n${output.slice(-2000)}`);
    return output;
  }
}

export class Supervisor {
  readonly processes: Supervised[] = [];
  private readonly pidFile: string;
  private readonly problems: string[] = [];

  constructor(readonly logDir: string) {
    this.pidFile = join(logDir, 'pids');
    writeFileSync(this.pidFile, '');
    // The watchdog: when this process is gone, SIGKILL every pid it wrote (and nothing else).
    const watchdog = spawn(
      'sh',
      ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; for p in $(cat '${this.pidFile}'); do kill -9 "$p" 2>/dev/null; done`],
      { stdio: 'ignore', detached: true },
    );
    watchdog.unref();
  }

  add(spec: ProcessSpec): Supervised {
    const p = new Supervised(spec, this);
    this.processes.push(p);
    return p;
  }

  remember(pid: number | undefined): void {
    if (pid !== undefined) appendFileSync(this.pidFile, `${pid}\n`);
  }

  report(problem: string): void {
    this.problems.push(problem);
    process.stderr.write(`chaos: ${problem}\n`);
  }

  get reported(): string[] {
    return [...this.problems];
  }

  /** Stops everything, in reverse order of registration. */
  async stopAll(): Promise<void> {
    for (const p of [...this.processes].reverse()) await p.stop().catch(() => undefined);
  }

  /** Last resort on exit: SIGKILL whatever is still running (synchronous). */
  killAllNow(): void {
    for (const p of this.processes) {
      if (p.running && p.pid) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
}
