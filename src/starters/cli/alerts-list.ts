import type { ListedAlert } from '../../alerts/outbox.js';

/** `alerts list` as a table: one line per alert, its delivery to each endpoint at the end. */
export function formatAlertTable(alerts: ListedAlert[]): string {
  if (alerts.length === 0) return 'no alerts';
  const header = `${'id'.padEnd(8)} ${'at'.padEnd(24)} ${'kind'.padEnd(22)} ${'shop'.padEnd(14)} ${'subject'.padEnd(32)} delivery`;
  const lines = alerts.map((a) => {
    const delivery = a.deliveries.length === 0 ? '-' : a.deliveries.map((d) => `${d.endpoint}: ${d.status} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`).join(', ');
    return `${a.id.padEnd(8)} ${a.at.padEnd(24)} ${a.kind.padEnd(22)} ${(a.shopId ?? '-').padEnd(14)} ${a.subject.slice(0, 32).padEnd(32)} ${delivery}`;
  });
  return [header, ...lines].join('\n');
}
