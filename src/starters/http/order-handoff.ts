import { Errors } from '../../domain/errors.js';
import { workflowIds } from '../../domain/keys.js';
import { RESERVATION_WORKFLOW_TYPE, reservationInput } from '../../domain/reservation-model.js';
import type { HttpDeps } from './deps.js';

/** What a route hands to an order's workflow; stored as-is with a webhook delivery until Temporal has it. */
export interface OrderHandoff {
  shopId: string;
  orderId: string;
  signal: string;
  payload: unknown;
}

/** Shopify gives a delivery 5 s: fail well before, so the answer is a 503 it retries rather than a timeout. */
export const HANDOFF_DEADLINE_MS = 2000;

/** Signal-with-start: the first event of an order starts its workflow, later ones signal it. */
export async function handOff(deps: Pick<HttpDeps, 'temporal' | 'taskQueue' | 'config'>, h: OrderHandoff): Promise<string> {
  const workflowId = workflowIds.reservation(h.shopId, h.orderId);
  await deps.temporal.withDeadline(Date.now() + HANDOFF_DEADLINE_MS, () =>
    deps.temporal.workflow.signalWithStart(RESERVATION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [reservationInput(deps.config.inventory_sync.reservations, h.shopId, h.orderId)],
      signal: h.signal,
      signalArgs: [h.payload],
    }),
  );
  return workflowId;
}

/** The routes that answer 202 after a hand-off: the order's workflow took it, or 503 so the caller retries. */
export async function handOffOrUnavailable(deps: Pick<HttpDeps, 'temporal' | 'taskQueue' | 'config'>, h: OrderHandoff, whenDown: string): Promise<string> {
  try {
    return await handOff(deps, h);
  } catch (err) {
    throw Errors.DependencyUnavailable(whenDown, undefined, { cause: err });
  }
}
