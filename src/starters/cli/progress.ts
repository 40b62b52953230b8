import cliProgress from 'cli-progress';

/** What a long CLI job shows while it runs: a bar with an ETA in a terminal, plain lines otherwise. */
export interface ProgressReporter {
  /** A phase with a known total (an ETA is shown) or an unknown one (counts only). */
  update(done: number, total: number | null, note: string): void;
  stop(): void;
}

/** A bar redrawn in place (cli-progress), for a TTY. */
export function barReporter(label: string, unit: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  let bar: cliProgress.SingleBar | undefined;
  let lastTotal: number | null = null;
  return {
    update(done, total, note) {
      if (!bar || total !== lastTotal) {
        bar?.stop();
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: total === null ? `${label} {value} {unit} | {note}` : `${label} [{bar}] {percentage}% | {value}/{total} {unit} | ETA {eta_formatted} | {note}`,
            hideCursor: true,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total ?? 0, 0, { note, unit });
        lastTotal = total;
      }
      bar.update(done, { note });
    },
    stop() {
      bar?.stop();
    },
  };
}

/** One line per change, for logs and pipes (no cursor movement), with the same ETA estimate. */
export function lineReporter(label: string, write: (line: string) => void, now: () => number = Date.now): ProgressReporter {
  let last = '';
  let startedAt: number | undefined;
  return {
    update(done, total, note) {
      startedAt ??= now();
      let line = `${label}: ${done}${total === null ? '' : `/${total} (${Math.min(100, Math.floor((done / Math.max(total, 1)) * 100))}%)`} ${note}`;
      if (total !== null && done > 0 && done < total) {
        const etaSeconds = Math.ceil(((now() - startedAt) / done) * (total - done) / 1000);
        line += `, ETA ${etaSeconds}s`;
      }
      const key = `${done}|${total}|${note}`;
      if (key === last) return;
      last = key;
      write(line);
    },
    stop() {},
  };
}

/** A bar on stderr when it is a terminal, else plain lines to `write` (stdout). */
export function progressReporter(label: string, write: (line: string) => void, unit: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return stream.isTTY ? barReporter(label, unit, stream) : lineReporter(label, write);
}
