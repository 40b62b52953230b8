import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createDirtyBatcher } from '../../src/temporal/handoff.js';

/** A Temporal client whose signal-with-start calls the test completes one by one. */
function fakeTemporal() {
  const calls: { workflowId: string; keys: string[]; trigger: string; done(err?: Error): void }[] = [];
  const temporal = {
    workflow: {
      signalWithStart: (_wf: string, opts: { workflowId: string; signalArgs: [{ keys: { sku: string }[]; trigger: string }] }) =>
        new Promise<void>((resolve, reject) => {
          const [{ keys, trigger }] = opts.signalArgs;
          calls.push({ workflowId: opts.workflowId, keys: keys.map((k) => k.sku), trigger, done: (err) => (err ? reject(err) : resolve()) });
        }),
    },
  } as unknown as Client;
  return { temporal, calls };
}

const key = (sku: string) => [{ sku, locationId: 'WH1' }];
const settled = async <T>(p: Promise<T>) => {
  let state = 'pending';
  p.then(() => (state = 'resolved'), () => (state = 'rejected'));
  await new Promise((r) => setImmediate(r));
  return state;
};

describe('markDirty group commit', () => {
  it('signals at once when idle; calls made while a signal is in flight go together as one, and each resolves only then', async () => {
    const { temporal, calls } = fakeTemporal();
    const batcher = createDirtyBatcher({ temporal, taskQueue: 'q' });
    const first = batcher.markDirty({ shopId: 's1', keys: key('A'), trigger: 'source_event' });
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.keys)).toEqual([['A']]);

    const later = [batcher.markDirty({ shopId: 's1', keys: key('B'), trigger: 'source_event' }), batcher.markDirty({ shopId: 's1', keys: [...key('B'), ...key('C')], trigger: 'source_event' })];
    const otherShop = batcher.markDirty({ shopId: 's2', keys: key('Z'), trigger: 'source_event' });
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => [c.workflowId, c.keys])).toEqual([
      ['refresh:s1', ['A']],
      ['refresh:s2', ['Z']],
    ]);
    expect(await settled(later[0]!)).toBe('pending');

    calls[0]!.done();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.keys)).toEqual([['A'], ['Z'], ['B', 'C']]);
    expect(await settled(later[0]!)).toBe('pending');
    calls[2]!.done();
    await Promise.all(later);
    calls[1]!.done();
    await otherShop;
  });

  it('a failed signal fails exactly the calls it carried', async () => {
    const { temporal, calls } = fakeTemporal();
    const batcher = createDirtyBatcher({ temporal, taskQueue: 'q' });
    const first = batcher.markDirty({ shopId: 's1', keys: key('A'), trigger: 't' });
    const second = batcher.markDirty({ shopId: 's1', keys: key('B'), trigger: 't' });
    await new Promise((r) => setImmediate(r));
    calls[0]!.done(new Error('unavailable'));
    await expect(first).rejects.toThrow('unavailable');
    await new Promise((r) => setImmediate(r));
    calls[1]!.done();
    await expect(second).resolves.toBeUndefined();
  });
});
