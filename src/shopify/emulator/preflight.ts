import { GraphQLError, TypeInfo, getArgumentValues, getDirectiveValues, getNamedType, visit, visitWithTypeInfo, type DocumentNode, type FieldNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { fingerprint } from './idempotency.js';
import { INVENTORY_MUTATIONS } from './schema.js';

/** Shopify's general cap on page sizes and input arrays. */
export const MAX_PAGE_SIZE = 250;
export const MAX_INPUT_ARRAY = 250;

export interface IdempotentField {
  field: string;
  responseKey: string;
  key: string;
  fingerprint: string;
  /** Set when another request held the key as this one arrived. */
  concurrent?: boolean;
}

export interface PreflightResult {
  errors: GraphQLError[];
  idempotent: IdempotentField[];
}

function findOversizedArray(value: unknown, path: string[]): { path: string[]; size: number } | undefined {
  if (Array.isArray(value)) {
    if (value.length > MAX_INPUT_ARRAY) return { path, size: value.length };
    for (let i = 0; i < value.length; i++) {
      const hit = findOversizedArray(value[i], [...path, String(i)]);
      if (hit) return hit;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findOversizedArray(v, [...path, k]);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** changeFromQuantity must be written out on every quantity (null opts out); returns the first path lacking it. */
function missingChangeFrom(field: string, args: Record<string, unknown>): string[] | undefined {
  const input = (args.input ?? {}) as Record<string, unknown>;
  const has = (o: unknown) => !!o && typeof o === 'object' && 'changeFromQuantity' in (o as object);
  if (field === 'inventorySetQuantities') {
    const qs = (input.quantities ?? []) as unknown[];
    const i = qs.findIndex((q) => !has(q));
    return i >= 0 ? ['input', 'quantities', String(i), 'changeFromQuantity'] : undefined;
  }
  const changes = (input.changes ?? []) as Record<string, unknown>[];
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    if (field === 'inventoryAdjustQuantities' && !has(c)) return ['input', 'changes', String(i), 'changeFromQuantity'];
    if (field === 'inventoryMoveQuantities') {
      for (const end of ['from', 'to'] as const) {
        if (!has(c[end])) return ['input', 'changes', String(i), end, 'changeFromQuantity'];
      }
    }
  }
  return undefined;
}

/**
 * Checks Shopify makes before running anything: page sizes, input array sizes, and for inventory mutations the
 * @idempotent directive and explicit changeFromQuantity. Any error here means nothing is executed.
 */
export function preflight(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  opts: { bulk?: boolean } = {},
): PreflightResult {
  const errors: GraphQLError[] = [];
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode) {
        const def = typeInfo.getFieldDef();
        if (!def) return;
        let args: Record<string, unknown>;
        try {
          args = getArgumentValues(def, node, variables);
        } catch {
          return;
        }
        const oversized = findOversizedArray(args, []);
        if (oversized) {
          errors.push(
            new GraphQLError(
              `The input array size of ${oversized.size} is greater than the maximum allowed of ${MAX_INPUT_ARRAY}.`,
              { nodes: [node], extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED', path: [node.name.value, ...oversized.path] } },
            ),
          );
        }
        const named = getNamedType(def.type);
        if (named.name.endsWith('Connection') && !opts.bulk) {
          const first = args.first as number | undefined;
          const last = args.last as number | undefined;
          if (first == null && last == null) {
            errors.push(new GraphQLError('you must provide one of first or last', { nodes: [node], extensions: { code: 'BAD_REQUEST' } }));
          }
          for (const [name, v] of [['first', first], ['last', last]] as const) {
            if (v != null && (v > MAX_PAGE_SIZE || v < 0)) {
              errors.push(
                new GraphQLError(
                  `Argument '${name}' on field '${node.name.value}' must be between 0 and ${MAX_PAGE_SIZE} (got ${v}).`,
                  { nodes: [node], extensions: { code: 'BAD_REQUEST', argumentName: name, maxPageSize: MAX_PAGE_SIZE } },
                ),
              );
            }
          }
        }
      },
    }),
  );

  const idempotent: IdempotentField[] = [];
  if (operation.operation === 'mutation') {
    const mutationType = schema.getMutationType()!;
    const directive = schema.getDirective('idempotent')!;
    for (const sel of operation.selectionSet.selections) {
      if (sel.kind !== 'Field' || !INVENTORY_MUTATIONS.has(sel.name.value)) continue;
      const field = sel.name.value;
      const def = mutationType.getFields()[field]!;
      let args: Record<string, unknown>;
      try {
        args = getArgumentValues(def, sel, variables);
      } catch {
        continue;
      }
      const dir = getDirectiveValues(directive, sel, variables) as { key?: string } | undefined;
      if (!dir || typeof dir.key !== 'string' || dir.key.length === 0) {
        errors.push(
          new GraphQLError(
            `The @idempotent directive is required for the ${field} mutation: add @idempotent(key: "<unique key>") to the field.`,
            { nodes: [sel], path: [sel.alias?.value ?? field], extensions: { code: 'BAD_REQUEST', directive: 'idempotent' } },
          ),
        );
        continue;
      }
      const missing = missingChangeFrom(field, args);
      if (missing) {
        errors.push(
          new GraphQLError(
            `changeFromQuantity is required on every quantity since 2026-04; write null to skip the check (missing at ${missing.join('.')}).`,
            { nodes: [sel], path: [sel.alias?.value ?? field], extensions: { code: 'BAD_REQUEST', field: missing } },
          ),
        );
        continue;
      }
      idempotent.push({ field, responseKey: sel.alias?.value ?? field, key: dir.key, fingerprint: fingerprint({ field, args }) });
    }
  }
  return { errors, idempotent };
}
