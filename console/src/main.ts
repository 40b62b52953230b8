import './style.css';
import { api, ApiError, token, type HistoryPoint, type KeyExplanation, type ShopHealth } from './api.js';
import { historyChart } from './chart.js';
import { ago, agoSeconds, h, num, signed, time } from './dom.js';

const app = document.getElementById('app')!;
const shopsNav = document.getElementById('shops')!;
const updated = document.getElementById('updated')!;
const logout = document.getElementById('logout') as HTMLButtonElement;
const REFRESH_MS = 15_000;

let currentShop: string | null = null;
let timer: number | undefined;

function loginView(message?: string): void {
  window.clearInterval(timer);
  shopsNav.replaceChildren();
  logout.hidden = true;
  const input = h('input', { type: 'password', id: 'token', name: 'token', placeholder: 'operator token', autocomplete: 'off', required: true });
  const form = h('form', { class: 'login card', id: 'login' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'The operator token (the variable named by operator.token_env). It is kept in this tab only.'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    input,
    h('button', { type: 'submit' }, 'Open console'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    token.set(input.value.trim());
    void start();
  });
  app.replaceChildren(form);
  input.focus();
}

function failure(err: unknown): HTMLElement {
  if (err instanceof ApiError) return h('p', { class: 'error', role: 'alert' }, `${err.message} (${err.code})`);
  return h('p', { class: 'error', role: 'alert' }, (err as Error).message);
}

async function start(): Promise<void> {
  if (!token.get()) return loginView();
  let shops: { shopId: string; domain: string }[];
  try {
    shops = (await api<{ shops: { shopId: string; domain: string }[] }>('/shops')).shops;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      token.clear();
      return loginView('That token was not accepted.');
    }
    app.replaceChildren(failure(err));
    return;
  }
  logout.hidden = false;
  const wanted = new URLSearchParams(location.hash.slice(1)).get('shop');
  currentShop = shops.find((s) => s.shopId === wanted)?.shopId ?? shops[0]?.shopId ?? null;
  shopsNav.replaceChildren(
    ...shops.map((s) => {
      const b = h('button', { class: `tab${s.shopId === currentShop ? ' active' : ''}`, 'data-shop': s.shopId, title: s.domain }, s.shopId);
      b.addEventListener('click', () => {
        location.hash = `shop=${encodeURIComponent(s.shopId)}`;
        void start();
      });
      return b;
    }),
  );
  if (!currentShop) {
    app.replaceChildren(h('p', { class: 'muted' }, 'No shops are configured.'));
    return;
  }
  renderShell(currentShop);
}

let explainPanel: HTMLElement;
let healthPanel: HTMLElement;
let explainKey: (sku: string, loc: string) => void = () => undefined;

/** A SKU (at a location) that opens its explanation below. */
function keyLink(sku: string, loc: string, label = `${sku} @ ${loc}`): HTMLElement {
  const b = h('button', { class: 'link key-link', type: 'button', title: `explain ${sku} at ${loc}` }, label);
  b.addEventListener('click', () => explainKey(sku, loc));
  return b;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function renderShell(shopId: string): void {
  healthPanel = h('section', { id: 'health', class: 'grid' }, h('p', { class: 'muted' }, 'Loading…'));
  const sku = h('input', { id: 'sku', name: 'sku', placeholder: 'SKU, e.g. TEE-RED-M', required: true, autocomplete: 'off', spellcheck: 'false' });
  const loc = h('input', { id: 'location', name: 'location', placeholder: 'location (optional)', autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'search', id: 'explain-form' }, sku, loc, h('button', { type: 'submit' }, 'Explain'));
  explainPanel = h('section', { id: 'explain' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void explain(shopId, sku.value.trim(), loc.value.trim());
  });
  explainKey = (s, l) => {
    sku.value = s;
    loc.value = l;
    void explain(shopId, s, l).then(() => explainPanel.scrollIntoView({ behavior: 'smooth', block: 'start' }));
  };
  app.replaceChildren(
    healthPanel,
    h('section', { class: 'card wide' }, h('h2', {}, 'Why does Shopify show this number?'), form, explainPanel),
  );
  void loadHealth(shopId);
  window.clearInterval(timer);
  timer = window.setInterval(() => void loadHealth(shopId), REFRESH_MS);
}

function stat(label: string, value: string, note?: string | HTMLElement, tone?: 'ok' | 'warn' | 'bad'): HTMLElement {
  return h('div', { class: `stat${tone ? ` ${tone}` : ''}` }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), note ? h('div', { class: 'stat-note' }, note) : null);
}

async function loadHealth(shopId: string): Promise<void> {
  let health: ShopHealth;
  try {
    health = await api<ShopHealth>(`/shops/${encodeURIComponent(shopId)}/health`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return loginView('The token is no longer accepted.');
    healthPanel.replaceChildren(h('div', { class: 'card wide' }, failure(err)));
    return;
  }
  updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  healthPanel.replaceChildren(syncCard(health), reservationsCard(health), alertsCard(health));
}

function syncCard(s: ShopHealth): HTMLElement {
  const lastTone = !s.lastWrite ? 'warn' : s.lastWrite.ageSeconds > 3600 ? 'warn' : 'ok';
  const lagTone = !s.lag ? undefined : s.lag.p95Seconds > 60 ? 'bad' : s.lag.p95Seconds > 10 ? 'warn' : 'ok';
  const t = s.throttle;
  const throttleTone = t.state === 'throttled' ? 'bad' : t.state === 'low' ? 'warn' : t.state === 'ok' ? 'ok' : undefined;
  const r = s.reconciliation;
  const driftTone = !r ? undefined : r.drifted === 0 ? 'ok' : r.drifted > r.corrected ? 'bad' : 'warn';
  const errors = Object.entries(s.writesLastHour).filter(([o]) => !['applied', 'replayed', 'superseded'].includes(o));
  return h('div', { class: 'card sync' },
    h('h2', {}, 'Sync health ', h('span', { class: 'muted small' }, `${s.domain} · ${s.mappedKeys} mapped keys`)),
    h('div', { class: 'stats' },
      stat('Last write to Shopify', s.lastWrite ? agoSeconds(s.lastWrite.ageSeconds) : 'none yet', s.lastWrite ? keyLink(s.lastWrite.sku, s.lastWrite.locationId) : undefined, lastTone),
      stat('Event → Shopify lag', s.lag ? `${s.lag.p50Seconds}s p50` : '—', s.lag ? `p95 ${s.lag.p95Seconds}s · max ${s.lag.maxSeconds}s · ${s.lag.samples} writes, last hour` : 'no source-triggered writes in the last hour', lagTone),
      stat('Shopify throttle', t.state, t.bucket ? `bucket ${t.bucket.currentlyAvailable}/${t.bucket.maximumAvailable} · +${t.bucket.restoreRate}/s${t.throttledWritesLastHour ? ` · ${t.throttledWritesLastHour} throttled writes` : ''}` : 'Shopify did not answer', throttleTone),
      stat('Drift, last reconciliation', r ? `${r.drifted} of ${r.keysChecked} keys` : 'never run', r ? `${r.driftUnits} units · ${r.corrected} corrected · ${r.status} · ${ago(r.finishedAt ?? r.startedAt)}` : undefined, driftTone),
    ),
    h('div', { class: 'outcomes' },
      h('span', { class: 'muted small' }, 'Writes in the last hour: '),
      ...Object.entries(s.writesLastHour).map(([o, n]) => h('span', { class: `pill ${['applied', 'replayed'].includes(o) ? 'ok' : o === 'superseded' ? '' : 'bad'}` }, `${o} ${n}`)),
      Object.keys(s.writesLastHour).length === 0 ? h('span', { class: 'muted small' }, 'none') : null,
      errors.length ? h('span', { class: 'muted small' }, ' — search a SKU below to see why') : null,
    ),
    r && r.worst.length > 0
      ? h('table', { class: 'compact' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Largest drift'), h('th', {}, 'location'), h('th', { class: 'n' }, 'Shopify'), h('th', { class: 'n' }, 'ATS'), h('th', { class: 'n' }, 'drift'), h('th', {}, ''))),
          h('tbody', {}, ...r.worst.map((w) => h('tr', {}, h('td', {}, keyLink(w.sku, w.locationId, w.sku)), h('td', {}, w.locationId), h('td', { class: 'n' }, num(w.shopify)), h('td', { class: 'n' }, num(w.ats)), h('td', { class: 'n' }, signed(w.drift)), h('td', {}, w.corrected ? 'corrected' : 'open')))),
        )
      : null,
  );
}

const STATE_ORDER = ['pending', 'open', 'claimed', 'partially_allocated', 'allocated'];

function reservationsCard(s: ShopHealth): HTMLElement {
  const entries = Object.entries(s.openReservations).sort(([a], [b]) => STATE_ORDER.indexOf(a) - STATE_ORDER.indexOf(b));
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return h('div', { class: 'card', id: 'reservations' },
    h('h2', {}, 'Open reservations ', h('span', { class: 'muted small' }, plural(total, 'order'))),
    entries.length === 0
      ? h('p', { class: 'muted' }, 'No open reservations.')
      : h('div', { class: 'bars' }, ...entries.map(([state, n]) => h('div', { class: 'bar-row' }, h('span', { class: 'bar-label' }, state.replace('_', ' ')), h('span', { class: 'bar' }, h('span', { class: `bar-fill s-${state}`, style: `width:${Math.max(2, (n / max) * 100)}%` })), h('span', { class: 'bar-n' }, n)))),
  );
}

function alertsCard(s: ShopHealth): HTMLElement {
  return h('div', { class: 'card', id: 'alerts' },
    h('h2', {}, 'Alerts ', h('span', { class: 'muted small' }, s.alerts.length ? `latest ${s.alerts.length}` : '')),
    s.alerts.length === 0
      ? h('p', { class: 'muted' }, 'No alerts for this shop.')
      : h('ul', { class: 'alerts' }, ...s.alerts.map((a) => {
          const [sku, loc] = a.subject.split('|');
          const facts = Object.entries(a.details).filter(([, v]) => typeof v === 'number' || typeof v === 'string').map(([k, v]) => `${k} ${String(v)}`).join(' · ');
          return h('li', {},
            h('span', { class: `pill ${a.kind.includes('drift') || a.kind.includes('error') ? 'bad' : 'warn'}` }, a.kind), ' ',
            sku && loc ? keyLink(sku, loc, a.subject) : h('span', { class: 'mono' }, a.subject),
            h('span', { class: 'muted small right', title: a.at }, ago(a.at)),
            facts ? h('div', { class: 'muted small' }, facts) : null,
          );
        })),
  );
}

async function explain(shopId: string, sku: string, loc: string): Promise<void> {
  if (!sku) return;
  explainPanel.replaceChildren(h('p', { class: 'muted' }, `Explaining ${sku}…`));
  const q = `sku=${encodeURIComponent(sku)}${loc ? `&location=${encodeURIComponent(loc)}` : ''}`;
  try {
    const [ex, hist] = await Promise.all([
      api<{ locations: KeyExplanation[] }>(`/shops/${encodeURIComponent(shopId)}/explain?${q}&writes=10`),
      api<{ series: { locationId: string; points: HistoryPoint[] }[] }>(`/shops/${encodeURIComponent(shopId)}/history?${q}`),
    ]);
    explainPanel.replaceChildren(...ex.locations.map((e) => keyCard(e, hist.series.find((s) => s.locationId === e.locationId)?.points ?? [])));
  } catch (err) {
    explainPanel.replaceChildren(failure(err));
  }
}

function keyCard(e: KeyExplanation, points: HistoryPoint[]): HTMLElement {
  const c = Object.fromEntries(e.components.map((x) => [x.name, x.units]));
  const differs = e.shopify.available !== null && e.ats !== null && e.shopify.available !== e.ats;
  const chart = h('div', { class: 'chart' });
  const f = e.inFlight;
  const flight: HTMLElement[] = [];
  if (f.dirty) flight.push(h('span', { class: 'pill warn' }, `dirty since ${f.dirty.since ? ago(f.dirty.since) : '?'} (${f.dirty.triggers.join(', ')})`));
  if (f.lease) flight.push(h('span', { class: 'pill warn' }, `write in flight: version ${f.lease.version}, attempt ${f.lease.attempt}`));
  if (f.dirtyUnknown) flight.push(h('span', { class: 'pill' }, `queue unknown: ${f.dirtyUnknown}`));
  const card = h('article', { class: 'key', 'data-location': e.locationId },
    h('header', {},
      h('div', {}, h('div', { class: 'key-title' }, e.sku, h('span', { class: 'muted' }, ` @ ${e.locationId}`)), h('div', { class: 'muted small mono' }, `ATS = ${e.formula}`)),
      h('div', { class: 'big-numbers' },
        h('div', { class: 'big' }, h('div', { class: 'big-label' }, 'ATS'), h('div', { class: 'big-value', id: 'ats-value' }, num(e.ats))),
        h('div', { class: `big ${differs ? 'differs' : ''}` }, h('div', { class: 'big-label' }, 'Shopify available'), h('div', { class: 'big-value', id: 'shopify-available' }, e.shopify.error ? '?' : num(e.shopify.available))),
        h('div', { class: 'big' }, h('div', { class: 'big-label' }, 'committed'), h('div', { class: 'big-value dim' }, e.shopify.error ? '?' : num(e.shopify.committed))),
      ),
    ),
    e.note ? h('p', { class: 'error' }, e.note) : null,
    e.shopify.error ? h('p', { class: 'error' }, `Shopify could not be read: ${e.shopify.error}`) : null,
    h('p', { class: 'equation mono' }, `max(0, ${c.erpOnHand} on hand − ${c.wmsAllocated} allocated − ${c.posPending} POS pending − ${c.openClaims} claimed − ${c.safetyBuffer} buffer − ${c.shopifyUnclaimed ?? 0} unclaimed on Shopify) = ${num(e.ats)}`),
    h('div', { class: 'cols' },
      h('div', {},
        h('h3', {}, 'Components'),
        h('table', { class: 'compact components' },
          h('thead', {}, h('tr', {}, h('th', {}, 'component'), h('th', { class: 'n' }, 'units'), h('th', {}, 'source'), h('th', {}, 'age'))),
          h('tbody', {}, ...e.components.flatMap((comp) =>
            comp.sources && comp.sources.length > 0
              ? comp.sources.map((s) => h('tr', {}, h('td', {}, comp.name), h('td', { class: 'n' }, num(s.units)), h('td', {}, `${s.source} (${s.role})`), s.error ? h('td', { class: 'error' }, s.error) : h('td', { class: s.ageSeconds !== null && s.ageSeconds > 86400 ? 'warn-text' : '' }, s.units === null ? 'no record' : agoSeconds(s.ageSeconds))))
              : [h('tr', {}, h('td', {}, comp.name), h('td', { class: 'n' }, num(comp.units)), h('td', {}, comp.from), h('td', {}, comp.ageSeconds === undefined ? '' : agoSeconds(comp.ageSeconds)))],
          )),
        ),
        h('p', { class: 'small' }, h('strong', {}, `Buffer ${e.buffer.units}`), ` (${e.buffer.from === 'override' ? 'override for this SKU' : 'default'}): ${e.buffer.rule}`),
      ),
      h('div', {},
        h('h3', {}, `Open claims (${e.claims.length})`),
        e.claims.length === 0
          ? h('p', { class: 'muted small' }, 'None.')
          : h('table', { class: 'compact' }, h('tbody', {}, ...e.claims.map((cl) => h('tr', {}, h('td', { class: 'mono' }, `order ${cl.orderId}`), h('td', { class: 'n' }, cl.units), h('td', {}, cl.state), h('td', { class: 'muted' }, ago(cl.updatedAt)))))),
        h('h3', {}, 'In flight'),
        flight.length ? h('div', {}, ...flight) : h('p', { class: 'muted small' }, 'Nothing pending or being written.'),
        h('p', { class: 'muted small' }, `Guard: version ${f.guard.version ?? '—'}, wrote ${num(f.guard.quantity)}, Shopify last seen ${num(f.guard.lastSeenShopify)}${f.guard.lastSeenDoubtful ? ' (doubtful: Shopify moved it since; the next refresh reads it again)' : ''}`),
      ),
    ),
    h('h3', {}, 'Shopify available vs ATS ', h('span', { class: 'muted small' }, `from the audit log, ${points.length} writes`)),
    points.length === 0 ? h('p', { class: 'muted small' }, 'No writes recorded yet.') : chart,
    h('h3', {}, 'Last writes'),
    e.writes.length === 0
      ? h('p', { class: 'muted small' }, 'None in the audit log.')
      : h('table', { class: 'compact writes' },
          h('thead', {}, h('tr', {}, h('th', {}, 'at'), h('th', {}, 'trigger'), h('th', { class: 'n' }, 'version'), h('th', { class: 'n' }, 'was'), h('th', { class: 'n' }, 'ATS'), h('th', { class: 'n' }, 'delta'), h('th', {}, 'outcome'))),
          h('tbody', {}, ...e.writes.map((w) => h('tr', {}, h('td', { title: w.at }, time(w.at)), h('td', {}, w.trigger), h('td', { class: 'n mono' }, w.version ?? '—'), h('td', { class: 'n' }, num(w.previousShopify)), h('td', { class: 'n' }, num(w.ats)), h('td', { class: 'n' }, signed(w.delta)), h('td', {}, h('span', { class: `pill ${w.outcome === 'applied' || w.outcome === 'replayed' ? 'ok' : w.outcome === 'superseded' ? '' : 'bad'}` }, w.outcome), w.errorCode ? h('span', { class: 'muted small' }, ` ${w.errorCode}`) : null)))),
        ),
  );
  requestAnimationFrame(() => {
    if (points.length > 0) historyChart(chart, points, Math.max(320, chart.clientWidth || 600), { ats: e.ats, shopify: e.shopify.available });
  });
  return card;
}

logout.addEventListener('click', () => {
  token.clear();
  loginView();
});

void start();
