import { markSignalled, pendingDeliveries } from '../../db/webhook-deliveries.js';
import type { HttpDeps } from './deps.js';
import { handOff, type OrderHandoff } from '../../temporal/handoff.js';

/** Hand-off of recorded Shopify deliveries to Temporal; the ledger itself is `src/db/webhook-deliveries.ts`. */

type HandoffDeps = Pick<HttpDeps, 'db' | 'temporal' | 'taskQueue' | 'config'>;

/** Hands one recorded delivery to Temporal and marks it; on failure it stays pending for the sweeper. */
export async function deliver(deps: HandoffDeps, webhookId: string, handoff: OrderHandoff): Promise<boolean> {
  try {
    await handOff(deps, handoff);
  } catch {
    return false;
  }
  await markSignalled(deps.db, webhookId);
  return true;
}

/** Hands off deliveries still pending after `minAgeMs` (Temporal was down, or the process died after answering). */
export async function redrivePendingDeliveries(deps: HandoffDeps, opts: { limit?: number; minAgeMs?: number } = {}): Promise<number> {
  // Only this configuration's shops: a deployment serving other shops (another config) re-drives its own.
  const rows = await pendingDeliveries(deps.db, { limit: opts.limit ?? 500, minAgeMs: opts.minAgeMs ?? 0, shopDomains: deps.config.shops.map((s) => s.domain) });
  let done = 0;
  for (const r of rows) {
    if (!(await deliver(deps, r.webhook_id, r.handoff!))) break;
    done++;
  }
  return done;
}

/** Runs redrivePendingDeliveries every `intervalMs` while the server is up; returns the stop function. */
export function startDeliverySweeper(deps: HandoffDeps & Pick<HttpDeps, 'logger'>, intervalMs = 5000, minAgeMs = 5000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    redrivePendingDeliveries(deps, { minAgeMs })
      .then((n) => n > 0 && deps.logger.info({ handedOff: n }, 'pending webhook deliveries handed off'))
      .catch((err: unknown) => deps.logger.warn({ err }, 'webhook delivery sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
