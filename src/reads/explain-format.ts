import type { KeyExplanation } from './explain.js';

const age = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined) return 'age unknown';
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
};
const num = (n: number | null | undefined) => (n === null || n === undefined ? '-' : String(n));
const signed = (n: number | null) => (n === null ? '-' : n > 0 ? `+${n}` : String(n));
const table = (rows: string[][]): string[] => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
};

/** `inventory-sync explain` for a terminal: one block per location, plain text, no colours. */
export function formatExplanation(e: KeyExplanation): string {
  const lines: string[] = [];
  lines.push(`${e.shopId}  ${e.sku} @ ${e.locationId}`);
  lines.push(`  ATS ${num(e.ats)} = ${e.formula}`);
  if (e.note) lines.push(`  note: ${e.note}`);
  const c = Object.fromEntries(e.components.map((x) => [x.name, x.units]));
  lines.push(`      = max(0, ${c.erpOnHand} - ${c.wmsAllocated} - ${c.posPending} - ${c.openClaims} - ${c.safetyBuffer} - ${c.shopifyUnclaimed ?? 0})`);
  lines.push('');
  lines.push('  components');
  const rows: string[][] = [];
  for (const comp of e.components) {
    if (comp.sources && comp.sources.length > 0) {
      for (const s of comp.sources) rows.push([`    ${comp.name}`, s.error ? 'FAILED' : num(s.units), `${s.source} (${s.role})`, s.error ? s.error : s.units === null ? 'no record' : age(s.ageSeconds)]);
    } else rows.push([`    ${comp.name}`, num(comp.units), comp.from, comp.ageSeconds === undefined ? '' : age(comp.ageSeconds)]);
  }
  lines.push(...table(rows));
  lines.push('');
  lines.push(`  buffer ${e.buffer.units} (${e.buffer.from === 'override' ? 'override for this SKU' : 'default'}): ${e.buffer.rule}`);
  lines.push(e.claims.length === 0 ? '  open claims: none' : `  open claims (${e.claims.length})`);
  if (e.claims.length > 0) lines.push(...table(e.claims.map((cl) => [`    order ${cl.orderId}`, `${cl.units} unit(s)`, cl.state, `since ${cl.updatedAt}`])));
  lines.push('');
  const s = e.shopify;
  lines.push(s.error ? `  Shopify: could not read (${s.error})` : `  Shopify now: available ${num(s.available)}, committed ${num(s.committed)}${s.available !== null && e.ats !== null && s.available !== e.ats ? `   (differs from ATS by ${signed(s.available - e.ats)})` : ''}`);
  const f = e.inFlight;
  const flight: string[] = [];
  if (f.dirty) flight.push(`dirty since ${f.dirty.since ?? '?'} (${f.dirty.triggers.join(', ')})`);
  if (f.dirtyUnknown) flight.push(`dirty: unknown (${f.dirtyUnknown})`);
  if (f.lease) flight.push(`leased by version ${f.lease.version} attempt ${f.lease.attempt} for ${f.lease.expiresInMs} ms more`);
  lines.push(`  in flight: ${flight.length ? flight.join('; ') : 'nothing'}   guard: version ${f.guard.version ?? '-'}, wrote ${num(f.guard.quantity)}, Shopify last seen ${num(f.guard.lastSeenShopify)}${f.guard.lastSeenDoubtful ? ' (doubtful: Shopify moved it since; the next refresh reads it again)' : ''}`);
  lines.push('');
  lines.push(e.writes.length === 0 ? '  writes: none in the audit log' : `  last ${e.writes.length} write(s), newest first`);
  if (e.writes.length > 0) {
    lines.push(...table([['    at', 'trigger', 'version', 'ATS', 'was', 'delta', 'outcome'], ...e.writes.map((w) => [`    ${w.at}`, w.trigger, w.version ?? '-', num(w.ats), num(w.previousShopify), signed(w.delta), w.errorCode ? `${w.outcome} ${w.errorCode}` : w.outcome])]));
  }
  return lines.join('\n');
}
