import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryPoint, ShopHealth } from '../../src/reads/console-data.js';
import { SCENE_OTHER_SKU, SCENE_SKU, startScene, type Scene } from './console-scene.js';

describe('the console API (/console/api, behind the operator token)', () => {
  let scene: Scene;
  beforeAll(async () => {
    scene = await startScene();
  }, 120_000);
  afterAll(async () => {
    await scene?.rig.close();
  });

  const get = (path: string, token: string | null = scene.rig.operatorToken) =>
    fetch(`${scene.rig.url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const json = async <T>(path: string): Promise<T> => {
    const res = await get(path);
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBe(200);
    return JSON.parse(text) as T;
  };

  it('per shop: last write, event-to-Shopify lag, throttle state, drift from the last reconciliation, open reservations by state, alerts', async () => {
    const { rig, orderId } = scene;
    const h = await json<ShopHealth>(`/console/api/shops/${rig.shopId}/health`);
    expect(h).toMatchObject({ shopId: rig.shopId, domain: rig.domain, mappedKeys: 4 });
    expect(h.lastWrite).toMatchObject({ ageSeconds: expect.any(Number) });
    expect(h.writesLastHour.applied).toBeGreaterThanOrEqual(4);
    expect(h.lag).toMatchObject({ samples: expect.any(Number) });
    // One key moved by source events in the last hour; the scene waited for each to reach Shopify.
    expect(h.lag!.samples).toBe(1);
    expect(h.lag!.p50Seconds).toBeGreaterThanOrEqual(0);
    expect(h.lag!.maxSeconds).toBeLessThan(30);
    expect(h.throttle.state).toBe('ok');
    expect(h.throttle.bucket).toMatchObject({ maximumAvailable: expect.any(Number), currentlyAvailable: expect.any(Number) });
    expect(h.reconciliation).toMatchObject({ status: 'completed', keysChecked: 4, drifted: 1, corrected: 1, driftUnits: 12 });
    expect(h.reconciliation!.worst).toEqual([{ sku: SCENE_SKU, locationId: 'WH2', shopify: 52, ats: 40, drift: 12, corrected: true }]);
    expect(h.openReservations).toEqual({ claimed: 1 });
    expect(h.alerts).toEqual([expect.objectContaining({ kind: 'drift', subject: `${SCENE_SKU}|WH2` })]);
    // The claim is there by order id.
    const ex = await json<{ locations: { claims: { orderId: string }[] }[] }>(`/console/api/shops/${rig.shopId}/explain?sku=${SCENE_SKU}&location=WH1`);
    expect(ex.locations[0]!.claims.map((c) => c.orderId)).toEqual([orderId]);
  });

  it('the history of a key: ATS and Shopify available at every write, oldest first', async () => {
    const { series } = await json<{ series: { locationId: string; points: HistoryPoint[] }[] }>(`/console/api/shops/${scene.rig.shopId}/history?sku=${SCENE_SKU}`);
    expect(series.map((s) => s.locationId)).toEqual(['WH1', 'WH2']);
    const wh1 = series[0]!.points.filter((p) => p.outcome === 'applied').map((p) => p.ats);
    expect(wh1.slice(-3)).toEqual([35, 32, 33]);
    const wh2 = series[1]!.points.at(-1)!;
    expect(wh2).toMatchObject({ shopifyBefore: 52, ats: 40, shopifyAfter: 40, trigger: 'reconciliation' });
  });

  it('never shows customer personal data: an order whose webhook named its customer appears by id only', async () => {
    const { rig, personal } = scene;
    expect(personal.length).toBeGreaterThanOrEqual(4);
    const bodies: string[] = [];
    for (const path of [
      '/console/api/shops',
      `/console/api/shops/${rig.shopId}/health`,
      ...[SCENE_SKU, SCENE_OTHER_SKU].flatMap((sku) => [`/console/api/shops/${rig.shopId}/explain?sku=${sku}&writes=500`, `/console/api/shops/${rig.shopId}/history?sku=${sku}`, `/explain/${rig.shopId}/${sku}`, `/ats/${rig.shopId}?sku=${sku}`]),
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      bodies.push(await res.text());
    }
    const all = bodies.join('\n');
    expect(all).toContain(scene.orderId);
    for (const p of personal) expect(all, `"${p}" leaked`).not.toContain(p);
  });

  it('every console route wants the operator token: missing, wrong or another role 401', async () => {
    const { rig } = scene;
    for (const path of ['/console/api/shops', `/console/api/shops/${rig.shopId}/health`, `/console/api/shops/${rig.shopId}/explain?sku=${SCENE_SKU}`, `/console/api/shops/${rig.shopId}/history?sku=${SCENE_SKU}`]) {
      for (const token of [null, 'wrong', rig.orderToken, rig.erpToken]) {
        const res = await get(path, token);
        expect(res.status, `${path} with ${token}`).toBe(401);
        expect(await res.json()).toMatchObject({ code: 'ISYNC_UNAUTHORIZED' });
      }
    }
  });

  it('an unknown shop, SKU or location gets a 404 naming which', async () => {
    const { rig } = scene;
    const cases: [string, string, string][] = [
      ['/console/api/shops/no-such-shop/health', 'ISYNC_UNKNOWN_SHOP', 'shop'],
      [`/console/api/shops/no-such-shop/history?sku=${SCENE_SKU}`, 'ISYNC_UNKNOWN_SHOP', 'shop'],
      [`/console/api/shops/${rig.shopId}/explain?sku=NOPE`, 'ISYNC_SKU_NOT_FOUND', 'sku'],
      [`/console/api/shops/${rig.shopId}/history?sku=${SCENE_SKU}&location=WH7`, 'ISYNC_LOCATION_NOT_FOUND', 'location'],
    ];
    for (const [path, code, field] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code, details: { field } });
    }
  });

  it('serves the page at /console/ (the built console; it carries no data of its own)', async () => {
    const redirect = await fetch(`${scene.rig.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await fetch(`${scene.rig.url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>inventory-sync console</title>');
  });
});
