import { randomUUID } from 'node:crypto';
import { execute, type DocumentNode } from 'graphql';
import { BULK_WINDOW, MAX_RUNNING_BULK, checkBulkQuery, flattenToJsonl, isRunning, type BulkOperationRecord } from './bulk.js';
import type { RequestContext } from './context.js';
import { EmulatorOrders } from './emulator-orders.js';
import { gid } from './ids.js';
import { fieldResolver, typeResolver } from './resolvers.js';
import { emulatorSchema } from './schema.js';
import type { ShopState } from './state.js';

/** Bulk operations (start, run later, cancel, result files) and the execution context of a GraphQL request. */
export class EmulatorBulk extends EmulatorOrders {
  // ---------- bulk ----------

  startBulk = (shop: ShopState, query: string, groupObjects: boolean): ReturnType<RequestContext['startBulk']> => {
    const running = [...shop.bulkOperations.values()].filter(isRunning).length;
    if (running >= MAX_RUNNING_BULK) {
      return { op: null, userErrors: [{ code: 'LIMIT_REACHED', field: null, message: `A shop can run at most ${MAX_RUNNING_BULK} bulk queries at once.` }] };
    }
    const checked = checkBulkQuery(emulatorSchema(), query);
    if (!checked.doc) return { op: null, userErrors: [{ code: 'INVALID', field: ['query'], message: checked.error! }] };
    const op: BulkOperationRecord = {
      __typename: 'BulkOperation',
      id: this.newId(),
      status: 'CREATED',
      errorCode: null,
      createdAt: new Date().toISOString(),
      completedAt: null,
      objectCount: 0,
      rootObjectCount: 0,
      fileSize: null,
      query,
      type: 'QUERY',
      groupObjects,
      jsonl: null,
    };
    shop.bulkOperations.set(op.id, op);
    shop.counters.bulkOperations += 1;
    const doc = checked.doc;
    this.later(() => {
      if (op.status !== 'CREATED') return;
      op.status = 'RUNNING';
      this.later(() => void this.finishBulk(shop, op, doc));
    });
    return { op, userErrors: [] };
  };

  protected later(fn: () => void): void {
    const t = setTimeout(() => {
      this.bulkTimers.delete(t);
      fn();
    }, this.bulkDelayMs);
    this.bulkTimers.add(t);
  }

  protected async finishBulk(shop: ShopState, op: BulkOperationRecord, doc: DocumentNode): Promise<void> {
    if (op.status !== 'RUNNING') return;
    // Window by window of root nodes, yielding between windows: a million levels are never one result object,
    // and the shop keeps answering while its export runs (as Shopify's does).
    const chunks: Buffer[] = [];
    let objectCount = 0;
    let rootCount = 0;
    let failed = false;
    for (let start = 0; ; start += BULK_WINDOW) {
      const window = { start, size: BULK_WINDOW, more: false };
      const result = await this.runQuery(shop, doc, {}, true, window);
      if ((op.status as string) !== 'RUNNING') return;
      if (result.errors?.length || !result.data) {
        failed = true;
        break;
      }
      const flat = flattenToJsonl(result.data as Record<string, unknown>, start > 0);
      const lines = flat.lines.map((line, i) => (shop.bulkCorruptLines.has(objectCount + i + 1) ? line.slice(0, Math.ceil(line.length / 2)) : line));
      if (lines.length > 0) chunks.push(Buffer.from(`${lines.join('\n')}\n`));
      objectCount += lines.length;
      rootCount += flat.rootCount;
      if (!window.more) break;
      await new Promise((r) => setImmediate(r));
    }
    if (failed) {
      op.status = 'FAILED';
      op.errorCode = 'INTERNAL_SERVER_ERROR';
    } else {
      shop.bulkCorruptLines.clear();
      op.jsonl = chunks;
      op.objectCount = objectCount;
      op.rootObjectCount = rootCount;
      op.fileSize = chunks.reduce((n, c) => n + c.length, 0);
      op.status = 'COMPLETED';
    }
    op.completedAt = new Date().toISOString();
    this.webhooks.enqueue(shop, 'bulk_operations/finish', {
      admin_graphql_api_id: gid('BulkOperation', op.id),
      completed_at: op.completedAt,
      created_at: op.createdAt,
      error_code: op.errorCode?.toLowerCase() ?? null,
      status: op.status.toLowerCase(),
      type: 'query',
    });
  }

  cancelBulk = (shop: ShopState, id: number): BulkOperationRecord | undefined => {
    const op = shop.bulkOperations.get(id);
    if (op && isRunning(op)) {
      op.status = 'CANCELED';
      op.completedAt = new Date().toISOString();
    }
    return op;
  };

  bulkUrl = (shop: ShopState, op: BulkOperationRecord): string | null =>
    op.status === 'COMPLETED' && op.jsonl && op.jsonl.length > 0 ? `${this.baseUrl}/_emulator/bulk/${encodeURIComponent(shop.config.domain)}/${op.id}.jsonl` : null;

  bulkResult(domain: string, id: number): Buffer[] | undefined {
    return this.shops.get(domain)?.bulkOperations.get(id)?.jsonl ?? undefined;
  }

  /** Fault: the next bulk result of the shop has these lines (1-based) cut short, as a broken write would leave them. */
  corruptNextBulkLines(domain: string, lines: number[]): void {
    const shop = this.shop(domain);
    for (const n of lines) shop.bulkCorruptLines.add(n);
  }

  /** Executes a parsed, validated query for a shop (used by bulk runs: every page at once, no cost). */
  async runQuery(shop: ShopState, document: DocumentNode, variables: Record<string, unknown>, bulk: boolean, bulkWindow?: RequestContext['bulkWindow']) {
    return execute({
      schema: emulatorSchema(),
      document,
      variableValues: variables,
      contextValue: { ...this.context(shop, randomUUID(), bulk, new Map()), ...(bulkWindow ? { bulkWindow } : {}) },
      fieldResolver,
      typeResolver,
    });
  }

  context(shop: ShopState, requestId: string, bulk: boolean, idempotent: RequestContext['idempotent']): RequestContext {
    return {
      shop,
      requestId,
      bulk,
      now: new Date().toISOString(),
      newId: this.newId,
      idempotent,
      levelsChanged: this.levelsChanged,
      startBulk: this.startBulk,
      cancelBulk: this.cancelBulk,
      bulkUrl: this.bulkUrl,
    };
  }
}
