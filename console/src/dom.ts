/** A tiny element builder: text always goes in as text (never HTML), so data cannot inject markup. */
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  return agoSeconds(Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)));
}

export function agoSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 129600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export const num = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : String(n));
export const signed = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n > 0 ? `+${n}` : String(n));
export const time = (iso: string): string => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
