/**
 * How the outside world talks to our HTTP server while it is being killed: a source, a WMS or a channel retries
 * until it gets its 2xx (connection refused, 5xx and 429 are retried with backoff; 408 too), for a retry budget of
 * `deadlineMs` (180 s). Three ends:
 * - `delivered`: a 2xx;
 * - `answered`: another 4xx, an answer the caller treats as a refusal of an event the run needs (a violation);
 * - `gave-up`: the budget ran out on retryable answers ("refused for good"): the sender's books drop the request,
 *   as a real channel's would, and the harness counts it apart. Unless an answer said the server recorded it
 *   (a 503 whose message says "recorded": the source-events and WMS routes record before their hand-off):
 *   `recorded` is then set, and the request counts as taken.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Delivered {
  status: number;
  body: unknown;
  attempts: number;
  outcome: 'delivered' | 'answered' | 'gave-up';
  /** Some answer said the server recorded the request, though it asked for a retry. */
  recorded: boolean;
}

export class DeliveryStats {
  /** Logical requests (one per deliver call). */
  deliveries = 0;
  /** HTTP attempts. */
  requests = 0;
  retries = 0;
  /** Answered with a non-retryable 4xx: violations. */
  refused: string[] = [];
  /** Retry budget spent without a 2xx, and no answer said recorded. */
  gaveUp: string[] = [];
  /** Retry budget spent, but an answer said the server recorded it: counted as taken. */
  gaveUpButRecorded = 0;
}

/** A 503 that says the request is recorded and only the hand-off failed (src/starters/http/routes). */
export function saysRecorded(status: number, body: unknown): boolean {
  if (status < 500) return false;
  const message = typeof body === 'object' && body !== null ? String((body as { message?: unknown }).message ?? '') : String(body ?? '');
  return /\b(is|are) recorded\b/.test(message);
}

export async function deliver(url: string, token: string, body: unknown, stats: DeliveryStats, opts: { deadlineMs?: number } = {}): Promise<Delivered> {
  const deadline = Date.now() + (opts.deadlineMs ?? 180_000);
  let attempts = 0;
  let backoff = 150;
  let recorded = false;
  stats.deliveries += 1;
  for (;;) {
    attempts += 1;
    stats.requests += 1;
    let status: number;
    let parsed: unknown;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      const text = await res.text();
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    } catch {
      status = 0;
    }
    if (status >= 200 && status < 300) return { status, body: parsed, attempts, outcome: 'delivered', recorded: true };
    recorded ||= saysRecorded(status, parsed);
    const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
    if (!retryable) {
      stats.refused.push(`${url} -> ${status} ${JSON.stringify(parsed).slice(0, 300)}`);
      return { status, body: parsed, attempts, outcome: 'answered', recorded };
    }
    if (Date.now() > deadline) {
      if (recorded) stats.gaveUpButRecorded += 1;
      else stats.gaveUp.push(`${url} -> ${status} ${JSON.stringify(parsed).slice(0, 300)} (after ${attempts} attempts)`);
      return { status, body: parsed, attempts, outcome: 'gave-up', recorded };
    }
    stats.retries += 1;
    // Exponential with jitter, capped at 5 s: a crowd of callers retrying in step would keep a recovering server down.
    await sleep(backoff * (0.5 + Math.random()));
    backoff = Math.min(5000, backoff * 2);
  }
}
