import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GroundTruth } from '../../bench/traffic/ground-truth.js';
import { formatTrace, generateTrace, parseTrace, readTrace, writeTrace } from '../../bench/traffic/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generateTrace', () => {
  it('is seeded: the same options give the same events, another seed others', () => {
    expect(formatTrace(generateTrace({ seed: 7 }))).toBe(formatTrace(generateTrace({ seed: 7 })));
    expect(formatTrace(generateTrace({ seed: 8 }))).not.toBe(formatTrace(generateTrace({ seed: 7 })));
  });

  it('demands 3x the supply by default, from all three channels, with allocations, receipts and cancels', () => {
    const trace = generateTrace({ seed: 3 });
    const supply = trace.initialStock.reduce((s, x) => s + x.units, 0) + trace.events.filter((e) => e.kind === 'erp_receipt').reduce((s, e) => s + e.quantity, 0);
    const demand = trace.events.reduce((s, e) => s + (e.kind === 'storefront_order' || e.kind === 'pos_sale' || e.kind === 'marketplace_order' ? e.quantity : 0), 0);
    expect(demand).toBe(Math.round(3 * supply));
    for (const kind of ['storefront_order', 'pos_sale', 'marketplace_order', 'wms_allocation', 'erp_receipt', 'cancel']) {
      expect(trace.events.some((e) => e.kind === kind), kind).toBe(true);
    }
    expect(trace.events.map((e) => e.t)).toEqual([...trace.events.map((e) => e.t)].sort((a, b) => a - b));
  });
});

describe('trace files', () => {
  it('round-trips through JSONL', () => {
    const trace = generateTrace({ seed: 11, buffer: 1 });
    const path = join(dir, 'ok.jsonl');
    writeTrace(path, trace);
    expect(readTrace(path)).toEqual(trace);
  });

  const good = formatTrace(generateTrace({ seed: 5 })).split('\n').slice(0, -1);
  const withLine = (n: number, line: string) => [...good.slice(0, n - 1), line, ...good.slice(n)].join('\n') + '\n';
  const refused = (text: string) => {
    const path = join(dir, `bad-${Math.random()}.jsonl`);
    writeFileSync(path, text);
    try {
      readTrace(path);
    } catch (err) {
      return { code: (err as { code?: string }).code, message: (err as Error).message };
    }
    throw new Error('accepted a malformed trace');
  };

  it.each([
    ['a line that is not JSON', 3, '{"kind":"pos_sale",', /line 3: not JSON/],
    ['an unknown kind', 4, '{"kind":"teleport","t":1}', /line 4: .*expected kind to be one of/],
    ['a negative quantity', 2, '{"kind":"pos_sale","t":0,"saleId":"s","sku":"DROP-0","locationId":"STORE1","quantity":-1}', /line 2: quantity: expected a quantity >= 1/],
    ['a SKU not in the header', 2, '{"kind":"storefront_order","t":0,"orderId":"x","sku":"NOPE","quantity":1}', /line 2: sku "NOPE" is not in the header's skus/],
    ['an allocation of an order never placed', 2, '{"kind":"wms_allocation","t":0,"allocationId":"a","channel":"storefront","orderId":"ghost","quantity":1}', /line 2: wms_allocation names storefront order "ghost"/],
    ['an unexpected field', 2, '{"kind":"cancel","t":0,"channel":"storefront","orderId":"x","email":"a@b.c"}', /line 2: .*email/],
    ['a bad header', 1, '{"type":"nope"}', /line 1: .*header/],
  ])('refuses %s, naming the line', (_what, n, line, message) => {
    const err = refused(withLine(n, line));
    expect(err.code).toBe('ISYNC_ARGUMENT_INVALID');
    expect(err.message).toMatch(message);
  });

  it('refuses events out of time order, naming the line', () => {
    const lines = formatTrace(generateTrace({ seed: 5 })).split('\n').slice(0, -1);
    const late = lines.findIndex((l, i) => i > 1 && (JSON.parse(l) as { t: number }).t > (JSON.parse(lines[1]!) as { t: number }).t);
    const swapped = [lines[0]!, lines[late]!, ...lines.slice(1, late), ...lines.slice(late + 1)];
    expect(() => parseTrace(swapped.join('\n'), 'x.jsonl')).toThrow(/x\.jsonl: line 3: t \d+ is earlier than the previous event's/);
  });
});

describe('GroundTruth', () => {
  it('counts units sold beyond the unsold physical units as oversold, and refusals above the buffer as lost', () => {
    const gt = new GroundTruth([{ sku: 'A', locationId: 'WH', units: 3 }], 1);
    gt.accept('storefront', 'o1', 'A', 'WH', 2, 0);
    gt.refuse('marketplace', 'A', ['WH'], 1); // 1 unsold, buffer 1: nothing lost
    expect(gt.summary().lostSales).toBe(0);
    gt.cancel('storefront', 'o1', 1); // 3 unsold again
    gt.refuse('pos', 'A', ['WH'], 5); // 2 above the buffer: 2 lost
    expect(gt.summary().lostSales).toBe(2);
    gt.accept('marketplace', 'm1', 'A', 'WH', 2, 2);
    gt.accept('pos', 'p1', 'A', 'WH', 3, 3); // 1 unsold: 2 oversold
    expect(gt.summary().oversoldUnits).toBe(2);
    gt.receipt('A', 'WH', 4, 4);
    expect(gt.unsold('A', 'WH')).toBe(2);
    expect(gt.trueSellable('A', 'WH')).toBe(1);
    expect(gt.summary().channels.pos).toMatchObject({ acceptedUnits: 3, refusedUnits: 5 });
    expect(gt.timeline('A', 'WH').map((p) => p.sellable)).toEqual([2, 0, 2, 0, 0, 1]);
  });

  it('names, for each oversold unit and lost sale, the changes of its key in the lookback before it', () => {
    const gt = new GroundTruth([{ sku: 'A', locationId: 'WH', units: 2 }], 0);
    gt.accept('pos', 'p1', 'A', 'WH', 2, 100);
    gt.accept('storefront', 'o1', 'A', 'WH', 1, 400); // nothing unsold: the POS sale 300 ms before was not seen
    gt.receipt('A', 'WH', 3, 5_000);
    gt.refuse('storefront', 'A', ['WH'], 1, 5_050); // 2 unsold: a loss right after the receipt
    expect(gt.incidents).toEqual([
      { t: 400, what: 'oversold', channel: 'storefront', key: 'A|WH', units: 1, unsoldBefore: 0, recent: ['pos-2@300ms ago'] },
      // The receipt only: the POS sale and the checkout are past the lookback.
      { t: 5_050, what: 'lost', channel: 'storefront', key: 'A|WH', units: 1, unsoldBefore: 2, recent: ['receipt+3@50ms ago'] },
    ]);
  });
});
