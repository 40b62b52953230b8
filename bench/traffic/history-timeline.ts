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
