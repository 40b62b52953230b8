/** Shopify keeps keys about a day; a repeat inside that window replays, a different request is refused. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

interface Entry {
  fingerprint: string;
  owner: string;
  state: 'in_flight' | 'done';
  result: unknown;
  expiresAt: number;
}

export type IdempotencyLookup =
  | { kind: 'new' }
  | { kind: 'replay'; result: unknown }
  | { kind: 'mismatch' }
  | { kind: 'concurrent' };

/** Canonical JSON (sorted keys) so the same arguments always give the same fingerprint. */
export function fingerprint(value: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(canon(value));
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Marks a key as in flight for `owner` (one HTTP request) unless somebody already holds it. */
  /** Returns false when another request holds the key right now (the caller answers CONCURRENT). */
  reserve(key: string, fp: string, owner: string): boolean {
    const e = this.live(key);
    if (e) return !(e.state === 'in_flight' && e.owner !== owner);
    this.entries.set(key, { fingerprint: fp, owner, state: 'in_flight', result: undefined, expiresAt: this.now() + IDEMPOTENCY_TTL_MS });
    return true;
  }

  lookup(key: string, fp: string, owner: string): IdempotencyLookup {
    const e = this.live(key);
    if (!e) return { kind: 'new' };
    if (e.state === 'in_flight') return e.owner === owner ? { kind: 'new' } : { kind: 'concurrent' };
    if (e.fingerprint !== fp) return { kind: 'mismatch' };
    return { kind: 'replay', result: e.result };
  }

  complete(key: string, fp: string, result: unknown): void {
    this.entries.set(key, { fingerprint: fp, owner: '', state: 'done', result, expiresAt: this.now() + IDEMPOTENCY_TTL_MS });
  }

  /** Releases keys a request reserved but never completed (it was refused before executing). */
  release(owner: string): void {
    for (const [k, e] of this.entries) if (e.state === 'in_flight' && e.owner === owner) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }
}
