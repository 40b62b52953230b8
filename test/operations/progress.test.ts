import { describe, expect, it } from 'vitest';
import { barReporter, lineReporter } from '../../src/starters/cli/progress.js';

describe('progress reporters', () => {
  it('plain lines: one per change, with percentage and an ETA from the rate so far', () => {
    const lines: string[] = [];
    let now = 0;
    const r = lineReporter('reconcile demo', (l) => lines.push(l), () => now);
    r.update(0, 600, 'starting');
    now = 2000;
    r.update(200, 600, '1 drifted');
    r.update(200, 600, '1 drifted'); // unchanged: no line
    now = 6000;
    r.update(600, 600, 'done');
    expect(lines).toEqual(['reconcile demo: 0/600 (0%) starting', 'reconcile demo: 200/600 (33%) 1 drifted, ETA 4s', 'reconcile demo: 600/600 (100%) done']);
  });

  it('a terminal gets a bar with an ETA (cli-progress)', () => {
    let written = '';
    const tty = {
      isTTY: true,
      columns: 120,
      write: (s: string) => ((written += s), true),
      cursorTo: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
      moveCursor: () => true,
      on() {
        return this;
      },
      removeListener() {
        return this;
      },
    } as unknown as NodeJS.WriteStream;
    const r = barReporter('reconcile demo', 'keys', tty);
    r.update(0, 600, 'starting');
    r.update(300, 600, '1 drifted');
    r.stop();
    expect(written).toMatch(/reconcile demo \[[^\]]+\] 50% \| 300\/600 keys \| ETA \S+ \| 1 drifted/);
  });
});
