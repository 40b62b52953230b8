import { getArgumentValues, getNamedType, isLeafType, isListType, getNullableType, isObjectType, isInterfaceType, type FieldNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLNamedType, type GraphQLObjectType, type GraphQLInterfaceType, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * Query cost, following Shopify's published rules:
 *  - scalars and enums 0; each object 1;
 *  - a connection costs 2 + n x (1 + cost of what is selected on each node), where n is `first` (or `last`)
 *    for the requested cost and the number of nodes actually returned for the actual cost; `pageInfo` and
 *    `cursor` are free; `edges { node }` and `nodes` are charged separately if both are selected;
 *  - `nodes(ids:)` costs one object per id; other lists of objects cost like one object;
 *  - every top-level mutation field costs 10 (its payload is not charged).
 */
export const MUTATION_COST = 10;
export const MAX_QUERY_COST = 1000;

type Parent = GraphQLObjectType | GraphQLInterfaceType;
type Mode = { kind: 'requested' } | { kind: 'actual' };

interface Ctx {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  mode: Mode;
}

function responseKey(f: FieldNode): string {
  return f.alias?.value ?? f.name.value;
}

function collectFields(ctx: Ctx, sel: SelectionSetNode | undefined, parent: Parent, out: { field: FieldNode; parent: Parent }[] = []) {
  if (!sel) return out;
  for (const s of sel.selections) {
    if (s.kind === 'Field') out.push({ field: s, parent });
    else {
      const frag = s.kind === 'InlineFragment' ? s : ctx.fragments[s.name.value];
      if (!frag) continue;
      const cond = frag.typeCondition ? ctx.schema.getType(frag.typeCondition.name.value) : parent;
      const target = cond && (isObjectType(cond) || isInterfaceType(cond)) ? cond : parent;
      collectFields(ctx, frag.selectionSet, target, out);
    }
  }
  return out;
}

function args(ctx: Ctx, def: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> {
  try {
    return getArgumentValues(def, node, ctx.variables);
  } catch {
    return {};
  }
}

function asParent(t: GraphQLNamedType): Parent | undefined {
  return isObjectType(t) || isInterfaceType(t) ? t : undefined;
}

function isConnection(t: GraphQLNamedType): t is GraphQLObjectType {
  return isObjectType(t) && t.name.endsWith('Connection');
}

function selectionCost(ctx: Ctx, sel: SelectionSetNode | undefined, parent: Parent, value: unknown): number {
  let total = 0;
  const obj = value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  for (const { field, parent: p } of collectFields(ctx, sel, parent)) {
    if (field.name.value.startsWith('__')) continue;
    const def = p.getFields()[field.name.value];
    if (!def) continue;
    total += fieldCost(ctx, def, field, obj ? obj[responseKey(field)] : undefined);
  }
  return total;
}

function fieldCost(ctx: Ctx, def: GraphQLField<unknown, unknown>, node: FieldNode, value: unknown): number {
  const named = getNamedType(def.type);
  if (isLeafType(named)) return 0;
  const actual = ctx.mode.kind === 'actual';
  if (isConnection(named)) return connectionCost(ctx, def, node, named, value);
  const child = asParent(named);
  if (!child) return 0;
  const listy = isListType(getNullableType(def.type));
  if (listy && def.name === 'nodes') {
    if (actual) {
      const items = Array.isArray(value) ? value : [];
      return items.reduce<number>((s, it) => s + (it == null ? 1 : 1 + selectionCost(ctx, node.selectionSet, child, it)), 0);
    }
    const ids = args(ctx, def, node).ids;
    const n = Array.isArray(ids) ? ids.length : 1;
    return n * (1 + selectionCost(ctx, node.selectionSet, child, undefined));
  }
  if (actual && value == null) return 1;
  const sample = actual && Array.isArray(value) ? value[0] : value;
  return 1 + selectionCost(ctx, node.selectionSet, child, sample);
}

function connectionCost(ctx: Ctx, def: GraphQLField<unknown, unknown>, node: FieldNode, conn: GraphQLObjectType, value: unknown): number {
  const nodeType = asParent(getNamedType(conn.getFields().nodes!.type))!;
  const edgeType = conn.getFields().edges ? asParent(getNamedType(conn.getFields().edges!.type)) : undefined;
  // Selections made on each node, and where to find each node in the returned value.
  const perNode: { sel: SelectionSetNode | undefined; pick: (v: Record<string, unknown>, i: number) => unknown; listKey: string; viaEdge: boolean }[] = [];
  for (const { field } of collectFields(ctx, node.selectionSet, conn)) {
    const key = responseKey(field);
    if (field.name.value === 'nodes') {
      perNode.push({ sel: field.selectionSet, listKey: key, viaEdge: false, pick: (v, i) => (v[key] as unknown[] | undefined)?.[i] });
    } else if (field.name.value === 'edges' && edgeType) {
      for (const { field: ef } of collectFields(ctx, field.selectionSet, edgeType)) {
        if (ef.name.value !== 'node') continue;
        const nk = responseKey(ef);
        perNode.push({
          sel: ef.selectionSet,
          listKey: key,
          viaEdge: true,
          pick: (v, i) => ((v[key] as Record<string, unknown>[] | undefined)?.[i] ?? {})[nk],
        });
      }
    }
  }
  if (ctx.mode.kind === 'requested') {
    const a = args(ctx, def, node);
    const n = typeof a.first === 'number' ? a.first : typeof a.last === 'number' ? a.last : 0;
    const each = perNode.length === 0 ? 1 : perNode.reduce((s, p) => s + 1 + selectionCost(ctx, p.sel, nodeType, undefined), 0);
    return 2 + n * each;
  }
  const v = value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  if (!v) return 2;
  let total = 2;
  for (const p of perNode) {
    const list = v[p.listKey];
    const count = Array.isArray(list) ? list.length : 0;
    for (let i = 0; i < count; i++) total += 1 + selectionCost(ctx, p.sel, nodeType, p.pick(v, i));
  }
  return total;
}

export interface CostInput {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

export function requestedCost(input: CostInput): number {
  return operationCost(input, { kind: 'requested' }, undefined);
}

export function actualCost(input: CostInput, data: unknown): number {
  return operationCost(input, { kind: 'actual' }, data);
}

function operationCost(input: CostInput, mode: Mode, data: unknown): number {
  const ctx: Ctx = { schema: input.schema, fragments: input.fragments, variables: input.variables, mode };
  if (input.operation.operation === 'mutation') {
    const root = input.schema.getMutationType()!;
    return collectFields(ctx, input.operation.selectionSet, root).filter((f) => !f.field.name.value.startsWith('__')).length * MUTATION_COST;
  }
  const root = input.schema.getQueryType()!;
  return selectionCost(ctx, input.operation.selectionSet, root, data);
}
