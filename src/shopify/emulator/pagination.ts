export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  reverse?: boolean | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** Opaque cursors (base64 JSON of the item's key) like Shopify's; they stay valid while items are added. */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ last_id: key }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { last_id?: unknown };
    return typeof v.last_id === 'string' ? v.last_id : undefined;
  } catch {
    return undefined;
  }
}

/** Pages a list already in its canonical order. In bulk mode page sizes are ignored: everything is returned. */
export function paginate<T>(all: T[], keyOf: (t: T) => string, args: PageArgs, bulk = false): Connection<T> {
  const list = args.reverse ? [...all].reverse() : all;
  let start = 0;
  let end = list.length;
  if (args.after) {
    const k = decodeCursor(args.after);
    const i = list.findIndex((t) => keyOf(t) === k);
    start = i >= 0 ? i + 1 : list.length;
  }
  if (args.before) {
    const k = decodeCursor(args.before);
    const i = list.findIndex((t) => keyOf(t) === k);
    end = i >= 0 ? i : end;
  }
  let slice = list.slice(start, Math.max(start, end));
  let hasNextPage = end < list.length;
  let hasPreviousPage = start > 0;
  if (!bulk) {
    if (args.first != null && slice.length > args.first) {
      slice = slice.slice(0, args.first);
      hasNextPage = true;
    }
    if (args.last != null && slice.length > args.last) {
      slice = slice.slice(slice.length - args.last);
      hasPreviousPage = true;
    }
  }
  const edges = slice.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    edges,
    nodes: slice,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

/**
 * Shopify search syntax, the subset we need: `sku:ABC`, `sku:'A B'`, `id:123`, terms joined by AND (or
 * whitespace) and groups joined by OR. A bare word matches when the searchable text contains it.
 */
export function matchesSearch(query: string | null | undefined, fields: Record<string, string | number | null>): boolean {
  if (!query || !query.trim()) return true;
  const groups = query.split(/\s+OR\s+/);
  return groups.some((g) => {
    const terms = g.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
    return terms
      .filter((t) => t !== 'AND')
      .every((term) => {
        const m = /^(-?)([a-z_]+):(.*)$/i.exec(term);
        if (!m) {
          const needle = term.replace(/^["']|["']$/g, '').toLowerCase();
          return Object.values(fields).some((v) => v != null && String(v).toLowerCase().includes(needle));
        }
        const [, neg, key, rawValue] = m;
        const op = /^(>=|<=|>|<)/.exec(rawValue!)?.[1];
        const value = rawValue!.slice(op?.length ?? 0).replace(/^["']|["']$/g, '');
        if (!(key! in fields)) return true;
        const actual = fields[key!];
        // Range terms as in Shopify's search syntax (updated_at:>=2026-11-30T00:00:00Z); ISO dates compare as text.
        const cmp = (a: string | number, b: string) => (typeof a === 'number' && !Number.isNaN(Number(b)) ? a - Number(b) : String(a).localeCompare(b));
        const hit = op
          ? actual != null && { '>': cmp(actual, value) > 0, '>=': cmp(actual, value) >= 0, '<': cmp(actual, value) < 0, '<=': cmp(actual, value) <= 0 }[op]
          : value.endsWith('*')
          ? actual != null && String(actual).toLowerCase().startsWith(value.slice(0, -1).toLowerCase())
          : actual != null && String(actual).toLowerCase() === value.toLowerCase();
        return neg ? !hit : hit;
      });
  });
}
