import { createHmac, randomUUID } from 'node:crypto';
import type { Faults } from './faults.js';
import type { ShopState } from './state.js';

export interface WebhookSettings {
  /** Delay before each retry; its length is the number of retries (Shopify: 8 over 4 hours). */
  retryDelaysMs: number[];
  /** A delivery fails without a 2xx within this time (Shopify: 5 s). */
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  retryDelaysMs: [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000],
  timeoutMs: 5_000,
};

export interface DeliveryRecord {
  webhookId: string;
  eventId: string;
  topic: string;
  attempt: number;
  status: number | 'timeout' | 'error';
  at: string;
}

interface Delivery {
  shop: ShopState;
  topic: string;
  body: string;
  webhookId: string;
  eventId: string;
  triggeredAt: string;
  attempt: number;
}

export function signWebhook(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

/**
 * At-least-once delivery in enqueue order, one at a time. Failed attempts are retried later with the same
 * webhook id; dropped, duplicated and reordered deliveries come from the shop's faults.
 */
export class WebhookDispatcher {
  private readonly queue: Delivery[] = [];
  private held: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private pumping = false;
  private idle: (() => void)[] = [];
  readonly log = new Map<string, DeliveryRecord[]>();

  constructor(
    public settings: WebhookSettings,
    private readonly faults: Faults,
  ) {}

  enqueue(shop: ShopState, topic: string, payload: unknown, eventId: string = randomUUID()): void {
    if (!shop.config.webhookUrl) return;
    const f = this.faults.resolved(shop.config.domain);
    const d: Delivery = {
      shop,
      topic,
      body: JSON.stringify(payload),
      webhookId: randomUUID(),
      eventId,
      triggeredAt: new Date().toISOString(),
      attempt: 0,
    };
    if (this.faults.roll(shop.config.domain, f.webhookDrop)) {
      shop.counters.webhooksDropped += 1;
      return;
    }
    if (this.faults.roll(shop.config.domain, f.webhookReorder)) {
      // Held back until a later event has gone out.
      shop.counters.webhooksReordered += 1;
      this.held.push(d);
      return;
    }
    this.queue.push(d);
    if (this.faults.roll(shop.config.domain, f.webhookDuplicate)) {
      shop.counters.webhooksDuplicated += 1;
      this.queue.push({ ...d });
    }
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        for (;;) {
          const next = this.queue.shift();
          if (!next) {
            if (this.timers.size === 0 && this.held.length > 0) {
              // Nothing newer is coming now: let held deliveries out rather than lose them.
              this.queue.push(...this.held);
              this.held = [];
              continue;
            }
            break;
          }
          await this.attempt(next);
          if (this.held.length > 0) {
            this.queue.push(...this.held);
            this.held = [];
          }
        }
      } finally {
        this.pumping = false;
        this.notifyIfIdle();
      }
    })();
  }

  private async attempt(d: Delivery): Promise<void> {
    const shop = d.shop;
    const url = shop.config.webhookUrl;
    if (!url) return;
    d.attempt += 1;
    let status: DeliveryRecord['status'];
    try {
      const res = await fetch(url, {
        method: 'POST',
        body: d.body,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        headers: {
          'Content-Type': 'application/json',
          'X-Shopify-Topic': d.topic,
          'X-Shopify-Hmac-Sha256': signWebhook(d.body, shop.config.webhookSecret),
          'X-Shopify-Shop-Domain': shop.config.domain,
          'X-Shopify-API-Version': shop.config.apiVersion,
          'X-Shopify-Webhook-Id': d.webhookId,
          'X-Shopify-Event-Id': d.eventId,
          'X-Shopify-Triggered-At': d.triggeredAt,
        },
      });
      await res.arrayBuffer().catch(() => undefined);
      status = res.status;
    } catch (err) {
      status = (err as Error).name === 'TimeoutError' ? 'timeout' : 'error';
    }
    const records = this.log.get(shop.config.domain) ?? [];
    records.push({ webhookId: d.webhookId, eventId: d.eventId, topic: d.topic, attempt: d.attempt, status, at: new Date().toISOString() });
    this.log.set(shop.config.domain, records);
    if (typeof status === 'number' && status >= 200 && status < 300) {
      shop.counters.webhooksSent += 1;
      return;
    }
    shop.counters.webhooksFailed += 1;
    const delay = this.settings.retryDelaysMs[d.attempt - 1];
    if (delay === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.push(d);
      this.pump();
    }, delay);
    this.timers.add(timer);
  }

  private notifyIfIdle(): void {
    if (this.pumping || this.queue.length > 0 || this.timers.size > 0) return;
    if (this.held.length > 0) {
      this.pump();
      return;
    }
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }

  /** Resolves once nothing is queued, held, in flight or waiting for a retry. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.notifyIfIdle();
    });
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.held = [];
    this.log.clear();
    this.notifyIfIdle();
  }
}
