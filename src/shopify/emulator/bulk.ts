import { parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';

export type BulkStatus = 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'EXPIRED';

export interface BulkOperationRecord {
  __typename: 'BulkOperation';
  id: number;
  status: BulkStatus;
  errorCode: 'ACCESS_DENIED' | 'INTERNAL_SERVER_ERROR' | 'TIMEOUT' | null;
  createdAt: string;
  completedAt: string | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number | null;
  query: string;
  type: 'QUERY' | 'MUTATION';
  groupObjects: boolean;
  /** The result file, in the chunks it was written in (one per window of root nodes). */
  jsonl: Buffer[] | null;
}

/** Root nodes per window of a bulk run: the run never holds more than this many roots' results at once. */
export const BULK_WINDOW = 2_000;

/** Shopify allows up to 5 bulk queries per shop at once (2026-01+). */
export const MAX_RUNNING_BULK = 5;

export function isRunning(op: BulkOperationRecord): boolean {
  return op.status === 'CREATED' || op.status === 'RUNNING' || op.status === 'CANCELING';
}

/** Parses and validates a bulk query; it must be a query with at least one connection. */
export function checkBulkQuery(schema: GraphQLSchema, query: string): { doc?: DocumentNode; error?: string } {
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch (e) {
    return { error: `Invalid bulk query: ${(e as Error).message}` };
  }
  const errs = validate(schema, doc);
  if (errs.length > 0) return { error: `Invalid bulk query: ${errs.map((e) => e.message).join('; ')}` };
  const op = doc.definitions.find((d) => d.kind === 'OperationDefinition');
  if (!op || op.kind !== 'OperationDefinition' || op.operation !== 'query') return { error: 'Bulk queries must be a single query operation.' };
  if (!/\b(edges|nodes)\b/.test(query)) return { error: 'Bulk queries must contain at least one connection.' };
  return { doc };
}

type Obj = Record<string, unknown>;

function connectionNodes(v: unknown): Obj[] | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Obj;
  if (Array.isArray(o.nodes)) return o.nodes as Obj[];
  if (Array.isArray(o.edges)) return (o.edges as Obj[]).map((e) => (e.node ?? {}) as Obj);
  return undefined;
}

/**
 * Flattens a query result into JSONL rows the way Shopify does: every connection node becomes its own line,
 * nested connection nodes carry `__parentId` (the id of the enclosing node) and follow their parent.
 */
export function flattenToJsonl(data: Obj, connectionsOnly = false): { lines: string[]; rootCount: number } {
  const lines: string[] = [];
  let rootCount = 0;
  const emit = (node: Obj, parentId: string | undefined) => {
    const row: Obj = {};
    const children: Obj[][] = [];
    for (const [k, v] of Object.entries(node)) {
      const nested = connectionNodes(v);
      if (nested) children.push(nested);
      else row[k] = v;
    }
    if (parentId !== undefined) row.__parentId = parentId;
    lines.push(JSON.stringify(row));
    const id = typeof node.id === 'string' ? node.id : parentId;
    for (const list of children) for (const child of list) emit(child, id);
  };
  for (const v of Object.values(data)) {
    const nodes = connectionNodes(v);
    // A windowed run repeats the query per window: a root object that is not a connection is written once.
    const roots = nodes ?? (!connectionsOnly && v && typeof v === 'object' ? [v as Obj] : []);
    for (const n of roots) {
      rootCount += 1;
      emit(n, undefined);
    }
  }
  return { lines, rootCount };
}
