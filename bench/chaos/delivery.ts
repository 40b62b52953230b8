/**
 * How the outside world talks to our HTTP server while it is being killed: a source, a WMS or a channel retries
 * until it gets its 2xx (connection refused, 5xx and 429 are retried with backoff; 408 too). Any other 4xx is
 * an answer, returned to the caller, which treats it as a refusal of an event the run needs (a violation).
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Delivered {
  status: number;
  body: unknown;
  attempts: number;
}

export class DeliveryStats {
  requests = 0;
  retries = 0;
  refused: string[] = [];
}

export async function deliver(url: string, token: string, body: unknown, stats: DeliveryStats, opts: { deadlineMs?: number } = {}): Promise<Delivered> {
  const deadline = Date.now() + (opts.deadlineMs ?? 180_000);
  let attempts = 0;
  let backoff = 150;
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
    if (status >= 200 && status < 300) return { status, body: parsed, attempts };
    const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
    if (!retryable || Date.now() > deadline) {
      stats.refused.push(`${url} -> ${status} ${JSON.stringify(parsed).slice(0, 300)}`);
      return { status, body: parsed, attempts };
    }
    stats.retries += 1;
    // Exponential with jitter, capped at 5 s: a crowd of callers retrying in step would keep a recovering server down.
    await sleep(backoff * (0.5 + Math.random()));
    backoff = Math.min(5000, backoff * 2);
  }
}
