import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildCli } from '../../src/starters/cli/main.js';
import { orderIdOf, startRig, type Rig } from './rig.js';

describe('inventory-sync reservation status SHOP ORDER', () => {
  let rig: Rig;
  const saved = { ...process.env };
  beforeAll(async () => {
    rig = await startRig({ onHand: 5 });
    process.env.DATABASE_URL = inject('databaseUrl');
    process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
  });
  afterAll(async () => {
    process.env = saved;
    await rig?.close();
  });

  async function run(...args: string[]): Promise<string> {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    try {
      await buildCli().parseAsync(['node', 'inventory-sync', ...args]);
    } finally {
      spy.mockRestore();
    }
    return lines.join('');
  }

  it("prints the order's state and lines from its workflow", async () => {
    const orderId = orderIdOf(rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: 'TEE-RED-M', quantity: 2 }] }));
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, { timeout: 20_000 }).toBe(2);
    const status = JSON.parse(await run('reservation', 'status', rig.shopId, orderId));
    expect(status).toMatchObject({ shopId: rig.shopId, orderId, state: 'claimed', source: 'workflow', lines: [expect.objectContaining({ sku: 'TEE-RED-M', claimed: 2 })] });
  });

  it('says so, with exit code 4, for an unknown order', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (errors.push(String(chunk)), true));
    try {
      expect(await run('reservation', 'status', rig.shopId, 'no-such-order')).toBe('');
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('')).toContain('no reservation for order no-such-order');
    expect(process.exitCode).toBe(4);
    process.exitCode = 0;
  });
});
