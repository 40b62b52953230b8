import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds the whole machine has been busy so far (every process: worker, emulator, PostgreSQL, Redis, the
 * Temporal server), from /proc/stat: over a phase, divided by the cores, the floor under its wall time.
 */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = ticks.map(Number);
  const idle = n[3]! + n[4]!;
  return (n.reduce((a, b) => a + b, 0) - idle) / 100;
}

/** CPU seconds used so far by the machine's processes, summed by command name (postgres, redis-server, temporal, node). */
export function cpuByCommand(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(comm, (out.get(comm) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return out;
}

/** The CPU seconds each command used between two `cpuByCommand` readings, largest first (processes that ended are not counted). */
export function cpuSpent(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([comm, s]) => [comm, s - (before.get(comm) ?? 0)] as const)
    .filter(([, s]) => s >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([comm, s]) => `${comm} ${s.toFixed(2)}`)
    .join(', ');
}
