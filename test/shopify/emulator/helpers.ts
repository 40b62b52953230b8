import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApiClient } from '@shopify/admin-api-client';
import { startEmulator, type RunningEmulator } from '../../../src/shopify/emulator/index.js';

export const VERSION = '2026-10';
export const SHOP_A = 'shop-a.myshopify.com';
export const SHOP_B = 'shop-b.myshopify.com';
export const TOKEN_A = 'shpat_token_a';
export const TOKEN_B = 'shpat_token_b';

export async function start(): Promise<RunningEmulator> {
  return startEmulator({ port: 0, logger: false, bulkDelayMs: 10, webhooks: { retryDelaysMs: [20, 40, 80], timeoutMs: 300 } });
}

/** The real @shopify/admin-api-client, pointed at the emulator. It passes headers as a plain object. */
export function client(emulatorUrl: string, shop = SHOP_A, accessToken = TOKEN_A) {
  return createAdminApiClient({
    storeDomain: shop,
    apiVersion: VERSION,
    accessToken,
    logger: () => undefined,
    customFetchApi: (url: string, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('X-Shopify-Shop-Domain', shop);
      return fetch(url.replace(/^https:\/\/[^/]+/, emulatorUrl), { ...init, headers });
    },
  });
}

/** Raw HTTP call, for status codes and exact bodies. */
export async function gql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { shop?: string | null; token?: string | null; version?: string } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = opts.token === undefined ? TOKEN_A : opts.token;
  if (token !== null) headers['X-Shopify-Access-Token'] = token;
  const shop = opts.shop === undefined ? SHOP_A : opts.shop;
  if (shop !== null) headers['X-Shopify-Shop-Domain'] = shop;
  const res = await fetch(`${url}/admin/api/${opts.version ?? VERSION}/graphql.json`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

export async function control(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export interface Seeded {
  locA: string;
  locB: string;
  items: { sku: string; variantId: string; inventoryItemId: string }[];
}

/** Shop A with two locations and `n` SKUs (SKU-1..n) at 10 available at the first location. */
export function seed(run: RunningEmulator, n = 3, opts: { shop?: string; token?: string; webhookUrl?: string; secret?: string } = {}): Seeded {
  const e = run.emulator;
  const shop = opts.shop ?? SHOP_A;
  e.createShop({ domain: shop, accessToken: opts.token ?? TOKEN_A, webhookUrl: opts.webhookUrl ?? null, webhookSecret: opts.secret ?? 'hush' });
  const locA = e.createLocation(shop, { name: 'Warehouse A' }).id;
  const locB = e.createLocation(shop, { name: 'Store B' }).id;
  const items = [];
  for (let i = 1; i <= n; i++) {
    const sku = `SKU-${i}`;
    const p = e.createProduct(shop, { sku });
    e.setQuantities(shop, p.inventoryItemId, locA, { available: 10 });
    items.push({ sku, variantId: p.variantId, inventoryItemId: p.inventoryItemId });
  }
  return { locA, locB, items };
}

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A webhook receiver; `respond` decides each status (default 200). */
export async function receiver(respond: (r: Received, n: number) => number | 'hang' = () => 200) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const r = { headers: req.headers, raw, body: JSON.parse(raw) };
      received.push(r);
      const status = respond(r, received.length);
      if (status === 'hang') return;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export const SET_MUTATION = /* GraphQL */ `
  mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
      inventoryAdjustmentGroup { createdAt reason referenceDocumentUri changes { name delta quantityAfterChange item { id } location { id } } }
      userErrors { code field message }
    }
  }
`;

export function setVars(
  quantities: { inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity?: number | null }[],
  key: string,
  name = 'available',
) {
  return { input: { name, reason: 'correction', referenceDocumentUri: 'gid://inventory-sync/Sync/1', quantities }, idempotencyKey: key };
}
