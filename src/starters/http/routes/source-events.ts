import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { writeAudit, type AuditRow } from '../../../db/audit.js';
import { createGroupCommit } from '../../../db/group-commit.js';
import { recordChangeGroups, type ChangeGroup, type GroupRecorded, type IncomingChange } from '../../../db/source-changes.js';
import type { SourceConfig } from '../../../config/schema.js';
import { Errors } from '../../../domain/errors.js';
import { clip, MAX_SHOP_ID_LENGTH } from '../../../domain/limits.js';
import { MAX_QUANTITY, MIN_QUANTITY } from '../../../domain/quantity.js';
import type { HttpDeps } from '../deps.js';
import type { HandoffSweeper } from '../handoffs.js';
import { authenticate, isSourceNamed, requireShopScope } from '../auth.js';
import { idField, locationField, shopIdField, timestampField } from '../bounds.js';
import { parsePayload } from '../payload.js';
import { type SkuLocation, skuLocationKey } from '../../../domain/sku-location.js';

/** One request carries at most this many events (a source sends more as several requests). */
export const MAX_EVENTS_PER_REQUEST = 1000;

/** The body schema; an event dated beyond `maxSkewSeconds` ahead of our clock is refused, naming the field. */
const eventsBody = (maxSkewSeconds: number) => z.object({
  events: z
    .array(
      z.object({
        shopId: shopIdField,
        sku: idField('a SKU'),
        locationId: locationField(),
        /** What the source holds now for this key (absolute, not a delta): a repeat or a late event cannot drift it. */
        quantity: z
          .number({ error: 'expected a number' })
          .int('expected a whole number')
          .min(MIN_QUANTITY, `expected a quantity >= ${MIN_QUANTITY}`)
          .max(MAX_QUANTITY, `expected a quantity <= ${MAX_QUANTITY} (the most Shopify accepts)`),
        /** On the source's clock; an event older than the stored reading never replaces it. */
        occurredAt: timestampField({ maxSeconds: maxSkewSeconds, clock: "the source's" }),
        /** The source's own id for the event: a repeat with the same id is recorded once. */
        eventId: idField('an event id').max(200, 'expected at most 200 characters').optional(),
      }),
    )
    .min(1, 'expected at least one event')
    .max(MAX_EVENTS_PER_REQUEST, `expected at most ${MAX_EVENTS_PER_REQUEST} events`),
});

/** Sources we pull (their own API or database) take no pushes: an event sent to them would be dropped. */
function refusePushToPulledSource(source: SourceConfig): void {
  if (source.type === 'http' || source.type === 'sql') {
    throw Errors.SourceIsPulled(
      `source "${source.name}" is of type ${source.type}: inventory-sync reads it (${source.type === 'http' ? 'GET {url}/changes' : 'its configured query'}) and takes no pushes; push to a source of type postgres instead`,
      { source: source.name, type: source.type },
    );
  }
}

/** How many shop ids the unknown-shop answer names: a request of 1,000 events must not write 64 KB into the log. */
const NAMED_SHOPS = 5;

/**
 * Every shop an event names must be configured: an unknown one is refused before anything is recorded. Asked after
 * the scope check, so only a shop the source is bound to reaches it (config check refuses binding an unconfigured
 * shop): a source cannot tell a configured shop of another tenant from an unconfigured one.
 */
function refuseUnknownShops(deps: HttpDeps, events: { shopId: string }[]): void {
  const known = new Set(deps.config.shops.map((s) => s.id));
  const unknown = [...new Set(events.filter((e) => !known.has(e.shopId)).map((e) => e.shopId))];
  if (unknown.length === 0) return;
  const indexes = events.flatMap((e, i) => (known.has(e.shopId) ? [] : [i]));
  const named = unknown.slice(0, NAMED_SHOPS).map((s) => clip(s, MAX_SHOP_ID_LENGTH));
  const more = unknown.length > NAMED_SHOPS ? ` and ${unknown.length - NAMED_SHOPS} more` : '';
  throw Errors.UnknownShop(
    `unknown shop${unknown.length > 1 ? 's' : ''} ${named.map((s) => `"${s}"`).join(', ')}${more} (events.${indexes[0]}.shopId): not in the configuration's shops; nothing was recorded`,
    { shopIds: named, indexes: indexes.slice(0, 20) },
  );
}

/**
 * POST /sources/:source/events: a source system reports what it holds now for some keys. Answered 202 once the
 * events are committed: change feed, snapshot, and the mapped keys in the refresh outbox, in one statement shared
 * with concurrent requests (group commit). The sweeper then hands the keys to each shop's refresh workflow; a slow
 * or absent Temporal delays that, not the answer. Events for SKUs without a mapping are recorded too (a later
 * mapping picks them up), reported in the answer, the audit log and `isync_source_events_total{outcome="unmapped"}`,
 * and never fail the batch.
 */
export function sourceEventRoutes(app: FastifyInstance, deps: HttpDeps, handoffs: HandoffSweeper): void {
  const maxSkewSeconds = deps.config.inventory_sync.source_events.max_clock_skew_seconds;
  const bodySchema = eventsBody(maxSkewSeconds);
  // Concurrent requests share one statement (each still answered only after it committed): a thousand sources
  // sending one event each cost PostgreSQL a few commits, not a thousand.
  const route = '/sources/:source/events';
  const changes = createGroupCommit<ChangeGroup, GroupRecorded>({
    commit: (groups) => recordChangeGroups(deps.db, groups, maxSkewSeconds, { mapped: true, handoff: true }),
    maxItems: 500,
    onGroup: (size) => deps.metrics.groupCommitSize.observe({ route }, size),
    onWaiting: (waiting) => deps.metrics.groupCommitWaiting.set({ route }, waiting),
  });
  app.post<{ Params: { source: string } }>('/sources/:source/events', async (req, reply) => {
    const started = performance.now();
    // An unknown source in the path gets the same 401 as a wrong token.
    const principal = authenticate(deps, req, isSourceNamed(req.params.source));
    const source = principal.source;
    refusePushToPulledSource(source);
    const { events } = parsePayload(bodySchema, req.body, 'source events');
    // Scope first: a shop outside it is 403 whether configured or not (docs/security.md).
    events.forEach((e, i) => requireShopScope(principal, e.shopId, `events.${i}.shopId`));
    refuseUnknownShops(deps, events);

    const incoming: IncomingChange[] = events.map((e) => ({
      shopId: e.shopId,
      sku: e.sku,
      locationId: e.locationId,
      quantity: e.quantity,
      occurredAt: e.occurredAt,
      ...(e.eventId === undefined ? {} : { externalId: e.eventId }),
    }));
    const { recorded, mapped } = await changes.submit({ source: source.name, changes: incoming });

    const dirty = new Map<string, Map<string, SkuLocation>>();
    const unmapped: { index: number; shopId: string; sku: string; locationId: string }[] = [];
    events.forEach((e, index) => {
      if (!mapped[index]) {
        unmapped.push({ index, shopId: e.shopId, sku: e.sku, locationId: e.locationId });
        return;
      }
      const keys = dirty.get(e.shopId) ?? new Map<string, SkuLocation>();
      keys.set(skuLocationKey(e), { sku: e.sku, locationId: e.locationId });
      dirty.set(e.shopId, keys);
    });
    if (dirty.size > 0) handoffs.kick('refresh');
    const trigger = `source_event:${source.name}`; // as recordChangeGroups writes it into the outbox
    const audit: AuditRow[] = unmapped.map((u) => ({
      shopId: u.shopId,
      sku: u.sku,
      locationId: u.locationId,
      trigger,
      outcome: 'unmapped',
      errorCode: Errors.UnknownSku.code,
      detail: `source "${source.name}" reported ${u.sku} at ${u.locationId}, which has no mapping in shop "${u.shopId}"; recorded, not pushed`,
    }));
    // After the commit: the events are recorded whatever happens here, so a failure must not answer 503 ("nothing
    // was half-written, retry"); the unmapped rows are also in the answer.
    await writeAudit(deps.db, audit).catch((err: unknown) => req.log.warn({ err, source: source.name, rows: audit.length }, 'audit rows of unmapped events not written; the events are recorded'));
    deps.metrics.sourceEvents.inc({ source: source.name, outcome: 'recorded' }, recorded);
    if (events.length > recorded) deps.metrics.sourceEvents.inc({ source: source.name, outcome: 'duplicate' }, events.length - recorded);
    if (unmapped.length > 0) deps.metrics.sourceEvents.inc({ source: source.name, outcome: 'unmapped' }, unmapped.length);

    deps.metrics.handoffSeconds.observe({ route }, (performance.now() - started) / 1000);
    reply.status(202).send({
      status: 'accepted',
      recorded,
      duplicates: events.length - recorded,
      unmapped,
      dirty: Object.fromEntries([...dirty].map(([shopId, keys]) => [shopId, keys.size])),
    });
  });
}
