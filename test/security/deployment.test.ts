import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.js';
import { configWarnings, parseConfig } from '../../src/config/load.js';
import { assertRedisAnswers, createRedis } from '../../src/redis/client.js';

type Service = { ports?: string[]; profiles?: string[]; command?: string[]; environment?: Record<string, string> };
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
const inDefaultProfile = (s: Service) => !s.profiles || s.profiles.length === 0;

describe('deployment', () => {
  it('docker compose publishes only the service port by default (not Temporal, its UI or the emulator)', () => {
    const published = Object.entries(compose.services).filter(([, s]) => inDefaultProfile(s) && (s.ports ?? []).length > 0);
    expect(published.map(([name, s]) => [name, s.ports])).toEqual([['server', ['8080:8080']]]);
  });

  it('the emulator runs only in the demo profile, bound to its container interface so the worker reaches it', () => {
    const emulator = compose.services['shopify-emulator']!;
    expect(emulator.profiles).toEqual(['demo']);
    expect(emulator.command).toEqual(expect.arrayContaining(['--host', '0.0.0.0']));
    expect(emulator.ports ?? []).toEqual([]);
    const ui = compose.services['temporal-ui']!;
    expect(ui.profiles).toContain('demo');
    for (const p of ui.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('does not send real shop tokens to the emulator by default', () => {
    for (const name of ['worker', 'server']) expect(compose.services[name]?.environment?.SHOPIFY_API_BASE_URL ?? '').not.toMatch(/^http:/);
    const demo = readFileSync('.env.demo', 'utf8');
    expect(demo).toContain('SHOPIFY_API_BASE_URL=http://shopify-emulator:8090');
    expect(demo).toContain('SHOPIFY_API_ALLOW_INSECURE=1');
  });

  it('the image runs as a user other than root and carries no .env', () => {
    const users = readFileSync('Dockerfile', 'utf8').match(/^USER\s+(\S+)/gm) ?? [];
    expect(users.at(-1)).toMatch(/^USER\s+(?!root\b|0\b)\S+/);
    expect(readFileSync('.dockerignore', 'utf8').split('\n')).toContain('.env');
  });

  it('@temporalio/testing is a dev dependency only', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.dependencies['@temporalio/testing']).toBeUndefined();
    expect(pkg.devDependencies['@temporalio/testing']).toBeDefined();
  });

  it('refuses a plain-http SHOPIFY_API_BASE_URL on another host unless a flag says it is a test server', () => {
    expect(() => readEnv({ SHOPIFY_API_BASE_URL: 'http://shopify-emulator:8090' })).toThrow(/SHOPIFY_API_BASE_URL: expected https:\/\/.*SHOPIFY_API_ALLOW_INSECURE=1/s);
    expect(readEnv({ SHOPIFY_API_BASE_URL: 'http://shopify-emulator:8090', SHOPIFY_API_ALLOW_INSECURE: '1' }).SHOPIFY_API_BASE_URL).toBe('http://shopify-emulator:8090');
    expect(readEnv({ SHOPIFY_API_BASE_URL: 'https://proxy.example.com' }).SHOPIFY_API_BASE_URL).toBe('https://proxy.example.com');
    for (const local of ['http://127.0.0.1:8090', 'http://localhost:8090', 'http://[::1]:8090']) expect(readEnv({ SHOPIFY_API_BASE_URL: local }).SHOPIFY_API_BASE_URL).toBe(local);
    expect(readEnv({ SHOPIFY_API_BASE_URL: '' }).SHOPIFY_API_BASE_URL).toBeUndefined();
  });
});

describe('no leaks', () => {
  it('a Redis URL with a password is redacted in the error', async () => {
    const url = 'redis://:hunter2@127.0.0.1:1';
    const redis = createRedis(url, 'x:');
    redis.on('error', () => undefined);
    const err = await assertRedisAnswers(redis, url).then(
      () => null,
      (e: Error) => e,
    );
    redis.disconnect();
    expect(err?.message).toContain('Redis does not answer at redis://:***@127.0.0.1:1');
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err)) + String(err?.stack)).not.toContain('hunter2');
  });

  it('config check says when reads or orders are closed to everyone (an upgrade from one token for all)', () => {
    const { config } = parseConfig('shops: [{ id: a, domain: a.myshopify.com, access_token_env: A_TOKEN, webhook_secret_env: A_SECRET }]');
    expect(configWarnings(config!).map((w) => w.path)).toEqual(['channels', 'operator']);
  });

  it('config check warns when shops share one webhook secret variable', () => {
    const { config } = parseConfig(`
shops:
  - { id: a, domain: a.myshopify.com, access_token_env: A_TOKEN, webhook_secret_env: SHARED_SECRET }
  - { id: b, domain: b.myshopify.com, access_token_env: B_TOKEN, webhook_secret_env: SHARED_SECRET }
operator: { token_env: OPS_TOKEN }
channels: [{ name: amazon, token_env: AMAZON_TOKEN, shops: [a] }]
`);
    expect(configWarnings(config!)).toEqual([
      { path: 'shops.1.webhook_secret_env', message: 'SHARED_SECRET is also the webhook secret of shop "a": a delivery signed for one shop is accepted as the other\'s' },
    ]);
  });
});
