import { temporal } from '@temporalio/proto';

/**
 * A workflow history's events between `from` and `to` (epoch ms), as seconds after `since`, with the activity a
 * scheduled event is of and the signal's name; runs of one event type folded. Used by the benches to show what a
 * shop's refresh workflow did while a key waited.
 */
export function timeline(history: temporal.api.history.v1.IHistory, from: number, to: number, since: number): string {
  const out: string[] = [];
  let last = '';
  let repeat = 0;
  for (const e of history.events ?? []) {
    const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round(Number(e.eventTime?.nanos ?? 0) / 1e6);
    if (at < from || at > to) continue;
    const base = String(temporal.api.enums.v1.EventType[e.eventType as number] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
    const detail = e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.workflowExecutionSignaledEventAttributes?.signalName;
    const type = detail ? `${base}(${detail})` : base;
    if (type === last) {
      repeat++;
      continue;
    }
    if (repeat > 0) out[out.length - 1] += ` x${repeat + 1}`;
    repeat = 0;
    last = type;
    out.push(`${((at - since) / 1000).toFixed(2)} ${type}`);
  }
  if (repeat > 0) out[out.length - 1] += ` x${repeat + 1}`;
  return out.join(', ');
}

/** A JSON payload's value (the SDK's default converter), or undefined. */
function payloadValue(p: temporal.api.common.v1.IPayload | null | undefined): unknown {
  if (!p?.data) return undefined;
  try {
    return JSON.parse(Buffer.from(p.data).toString('utf8'));
  } catch {
    return undefined;
  }
}

type KeyArgs = { keys?: { sku: string; locationId: string }[]; trigger?: string };

/**
 * What a shop's refresh workflow did with one SKU, from its history: each signal that carried it (with its
 * trigger), and each `refreshKeys` flush that took it (scheduled, started, closed), as seconds after `since`.
 * A key that waited shows here whether its signal came late, or its flush.
 */
export function keyTrail(history: temporal.api.history.v1.IHistory, sku: string, since: number): string[] {
  const s = (e: temporal.api.history.v1.IHistoryEvent) => (((Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round(Number(e.eventTime?.nanos ?? 0) / 1e6)) - since) / 1000).toFixed(2);
  const flushes = new Map<string, string>();
  const out: string[] = [];
  for (const e of history.events ?? []) {
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal) {
      const arg = payloadValue(signal.input?.payloads?.[0]) as KeyArgs | undefined;
      if (arg?.keys?.some((k) => k.sku === sku)) out.push(`${s(e)} signal ${arg.trigger} (${arg.keys.length} keys)`);
      continue;
    }
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'refreshKeys') {
      const arg = payloadValue(scheduled.input?.payloads?.[0]) as KeyArgs | undefined;
      if (arg?.keys?.some((k) => k.sku === sku)) {
        const id = String(e.eventId);
        flushes.set(id, `flush #${id} of ${arg.keys.length}`);
        out.push(`${s(e)} ${flushes.get(id)} scheduled (${arg.trigger})`);
      }
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    const ref = String(started?.scheduledEventId ?? ended?.scheduledEventId ?? '');
    if (flushes.has(ref)) out.push(`${s(e)} ${flushes.get(ref)} ${started ? 'started' : e.activityTaskCompletedEventAttributes ? 'completed' : 'failed'}`);
  }
  return out;
}
