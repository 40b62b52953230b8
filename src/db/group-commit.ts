/**
 * Group commit: concurrent callers share one database transaction. While a commit is in flight, further items
 * queue; when it returns, everything queued goes as the next commit. Each caller resolves only after the commit
 * that holds its item returned (durably committed), or rejects with that commit's error. At low load nothing
 * waits; under a burst of single-event requests PostgreSQL sees a few transactions instead of one per request.
 * A group whose commit fails is committed again item by item, so a caller fails only for its own item.
 */
export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
}

interface Waiter<I, O> {
  item: I;
  resolve(o: O): void;
  reject(err: unknown): void;
}

export function createGroupCommit<I, O>(opts: {
  /** Commits every item in one transaction; answers one result per item, in order. */
  commit(items: I[]): Promise<O[]>;
  /** At most this many items per transaction (the rest wait for the next). */
  maxItems?: number;
  /** Told the size of every group committed (a metric). */
  onGroup?(size: number): void;
  /** Told how many callers wait (queued, or in the commit in flight) whenever that changes (a gauge). */
  onWaiting?(waiting: number): void;
}): GroupCommit<I, O> {
  const maxItems = opts.maxItems ?? 1_000;
  let queued: Waiter<I, O>[] = [];
  let inFlight = false;
  let waiting = 0;
  const settled = (n: number) => {
    waiting -= n;
    opts.onWaiting?.(waiting);
  };

  async function drain(): Promise<void> {
    inFlight = true;
    try {
      while (queued.length > 0) {
        const group = queued.slice(0, maxItems);
        queued = queued.slice(group.length);
        opts.onGroup?.(group.length);
        try {
          const results = await opts.commit(group.map((w) => w.item));
          settled(group.length);
          group.forEach((w, i) => w.resolve(results[i]!));
        } catch (err) {
          if (group.length === 1) {
            settled(1);
            group[0]!.reject(err);
            continue;
          }
          // One caller's bad item must not fail the others: each is committed on its own, and fails on its own.
          for (const w of group) {
            try {
              const [one] = await opts.commit([w.item]);
              settled(1);
              w.resolve(one!);
            } catch (one) {
              settled(1);
              w.reject(one);
            }
          }
        }
      }
    } finally {
      inFlight = false;
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        queued.push({ item, resolve, reject });
        waiting += 1;
        opts.onWaiting?.(waiting);
        if (!inFlight) void drain();
      });
    },
  };
}
