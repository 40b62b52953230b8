import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENE_SKU, startScene, type Scene } from './console-scene.js';

/** Debian's chromium (`.ci/run` installs it); playwright-core drives it, it downloads no browser of its own. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-results/console';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`[console browser test] SKIPPED: no chromium at ${CHROMIUM}. Install it with: apt-get install -y chromium (or set CHROMIUM_PATH)`);

describe.skipIf(!available)(`the operator console in a real browser (${CHROMIUM})`, () => {
  let scene: Scene;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    scene = await startScene();
    mkdirSync(SHOTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await scene?.rig.close();
  });

  it('asks for the operator token and refuses a wrong one', async () => {
    await page.goto(`${scene.rig.url}/console`);
    await page.locator('#login').waitFor();
    await page.screenshot({ path: `${SHOTS}/1-sign-in.png` });
    await page.fill('#token', 'not-the-token');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.locator('#login .error').textContent(), { timeout: 10_000 }).toContain('not accepted');
  });

  it("shows the shop's sync health, open reservations and alerts", async () => {
    await page.fill('#token', scene.rig.operatorToken);
    await page.click('#login button[type=submit]');
    await page.locator('.card.sync').waitFor({ timeout: 15_000 });
    const sync = await page.locator('.card.sync').innerText();
    expect(sync).toContain('Last write to Shopify');
    expect(sync).toContain('Event → Shopify lag');
    expect(sync).toMatch(/Shopify throttle\s+ok/);
    expect(sync).toMatch(/Drift, last reconciliation\s+1 of 4 keys/);
    expect(sync).toContain(SCENE_SKU);
    expect(await page.locator('#reservations').innerText()).toMatch(/claimed\s+1/);
    expect(await page.locator('#alerts').innerText()).toContain(`drift ${SCENE_SKU}|WH2`);
    await page.screenshot({ path: `${SHOTS}/2-health.png`, fullPage: true });
  });

  it('a drift alert opens the explanation of its key', async () => {
    await page.locator('#alerts .key-link').first().click();
    const wh2 = page.locator('article.key[data-location="WH2"]');
    await wh2.waitFor({ timeout: 15_000 });
    expect(await wh2.locator('#ats-value').innerText()).toBe('40');
    expect(await page.locator('article.key').count()).toBe(1);
    expect(await wh2.locator('table.writes').innerText()).toMatch(/reconciliation\s+\d+\s+52\s+40\s+-12\s+applied/);
  });

  it('explains a searched SKU, with a chart of Shopify available against ATS from the audit log', async () => {
    await page.fill('#sku', SCENE_SKU);
    // The alert filled in its location: every location of the SKU this time.
    expect(await page.inputValue('#location')).toBe('WH2');
    await page.fill('#location', '');
    await page.click('#explain-form button[type=submit]');
    const wh1 = page.locator('article.key[data-location="WH1"]');
    await wh1.waitFor({ timeout: 15_000 });
    expect(await wh1.locator('#ats-value').innerText()).toBe('33');
    expect(await wh1.locator('#shopify-available').innerText()).toBe('33');
    const text = await wh1.innerText();
    expect(text).toContain(`order ${scene.orderId}`);
    expect(text).toContain('max(0, 36 on hand − 0 allocated − 0 POS pending − 3 claimed − 0 buffer − 0 unclaimed on Shopify) = 33');
    // uPlot drew the chart: a canvas with both series in its legend.
    await wh1.locator('.chart canvas').waitFor();
    expect(await wh1.locator('.chart .u-legend').innerText()).toMatch(/ATS[\s\S]*Shopify available/);
    expect(await page.locator('article.key[data-location="WH2"] .chart canvas').count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/3-explain.png`, fullPage: true });
    await wh1.screenshot({ path: `${SHOTS}/4-explain-key.png` });
  });

  it('names an unknown SKU, and shows no customer data anywhere on the page', async () => {
    await page.fill('#sku', 'NO-SUCH-SKU');
    await page.click('#explain-form button[type=submit]');
    await expect.poll(() => page.locator('#explain .error').textContent(), { timeout: 10_000 }).toContain('ISYNC_SKU_NOT_FOUND');
    await page.screenshot({ path: `${SHOTS}/5-unknown-sku.png` });
    await page.fill('#sku', SCENE_SKU);
    await page.click('#explain-form button[type=submit]');
    await page.locator('article.key[data-location="WH1"]').waitFor();
    const html = await page.content();
    for (const p of scene.personal) expect(html, `"${p}" shown`).not.toContain(p);
  });
});
