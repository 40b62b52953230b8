/** The GraphQL documents the client sends, in one place so their cost can be reasoned about together. */

export const SET_QUANTITIES = /* GraphQL */ `
mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}`;

export const ADJUST_QUANTITIES = /* GraphQL */ `
mutation AdjustAvailable($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}`;

/** Every top-level mutation costs 10 points, whatever the size of its input (up to 250 entries). */
export const MUTATION_COST = 10;

/**
 * Levels of many pairs in one query: one aliased `nodes(ids:)` per location, each item asking for its level
 * there. Three points per pair (item, level, quantities), so about 330 pairs fit under the 1,000 limit.
 */
export function readLevelsDocument(locationCount: number): string {
  const vars = ['$names: [String!]!'];
  const fields: string[] = [];
  for (let i = 0; i < locationCount; i += 1) {
    vars.push(`$ids${i}: [ID!]!`, `$loc${i}: ID!`);
    fields.push(
      `l${i}: nodes(ids: $ids${i}) { ... on InventoryItem { id inventoryLevel(locationId: $loc${i}) { quantities(names: $names) { name quantity } } } }`,
    );
  }
  return `query ReadLevels(${vars.join(', ')}) {\n  ${fields.join('\n  ')}\n}`;
}
export const READ_LEVEL_PAIR_COST = 3;
export const MAX_QUERY_COST = 1000;

export const VARIANTS_BY_SKU = /* GraphQL */ `
query VariantsBySku($query: String!, $after: String) {
  productVariants(first: 250, query: $query, after: $after) {
    nodes { id sku inventoryItem { id } product { id } }
    pageInfo { hasNextPage endCursor }
  }
}`;
export const VARIANTS_BY_SKU_COST = 2 + 250 * 3;

export const LOCATIONS = /* GraphQL */ `
query Locations($after: String) {
  locations(first: 250, after: $after, includeInactive: true, includeLegacy: true) {
    nodes { id name isActive }
    pageInfo { hasNextPage endCursor }
  }
}`;
export const LOCATIONS_COST = 2 + 250;

const FULFILLMENT_LINE = 'remainingQuantity totalQuantity lineItem { id sku variant { id } }';
export const FO_PAGE = 5;
export const FO_LINES_PAGE = 60;

/** 5 fulfillment orders x 60 lines keeps one page under 1,000 points; larger orders page on. */
export const ORDER_FULFILLMENT = /* GraphQL */ `
query OrderFulfillment($id: ID!, $after: String) {
  order(id: $id) {
    id
    fulfillmentOrders(first: ${FO_PAGE}, after: $after) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: ${FO_LINES_PAGE}) { nodes { ${FULFILLMENT_LINE} } pageInfo { hasNextPage endCursor } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
export const ORDER_FULFILLMENT_COST = 1 + 2 + FO_PAGE * (1 + 2 + 2 + FO_LINES_PAGE * 3);

/**
 * Whether the shop has one active location or more: `locations` lists active locations unless includeInactive is
 * set, so two nodes at most answer the question. It leaves out fulfillment-service ("legacy") locations unless
 * includeLegacy is set, and those hold stock too: a shop with one store and one such location has two. Requested
 * cost 2 + 2 x 1 = 4 (a connection is 2 plus `first` times each node's cost; an object is 1, scalars and
 * arguments are free).
 */
export const ACTIVE_LOCATIONS_PROBE = /* GraphQL */ `
query ActiveLocations {
  locations(first: 2, includeLegacy: true) { nodes { id } }
}`;
export const ACTIVE_LOCATIONS_PROBE_COST = 2 + 2 * 1;

/**
 * One order's fulfillment orders, sized from what the webhook said: an order of n lines has at most n open
 * fulfillment orders (each holds at least one line) of at most n lines each; more pages follow when Shopify says so.
 * Its requested cost is orderFulfillmentCost(fos, lines): the order 1, the connection 2 + fos x (the fulfillment
 * order 1, assignedLocation 1, location 1, the lines connection 2 + lines x (line 1, lineItem 1, variant 1)).
 */
export function orderFulfillmentQuery(fos: number, lines: number): string {
  return /* GraphQL */ `
query OrderFulfillment($id: ID!, $after: String) {
  order(id: $id) {
    id
    fulfillmentOrders(first: ${fos}, after: $after) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: ${lines}) { nodes { ${FULFILLMENT_LINE} } pageInfo { hasNextPage endCursor } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
}
export function orderFulfillmentCost(fos: number, lines: number): number {
  return 1 + 2 + fos * (1 + 2 + 2 + lines * 3);
}

/** The largest (fulfillment orders, lines) page for an order of n lines whose requested cost stays under the 1,000-point cap. */
export function orderFulfillmentPage(lineCount: number): { fos: number; lines: number } {
  const n = Math.max(1, Math.min(250, Math.floor(lineCount)));
  let fos = Math.min(n, FO_PAGE);
  let lines = n;
  while (orderFulfillmentCost(fos, lines) > MAX_QUERY_COST) {
    if (lines > FO_LINES_PAGE) lines = Math.max(FO_LINES_PAGE, Math.floor((MAX_QUERY_COST - 3 - fos * 5) / (fos * 3)));
    else if (fos > 1) fos -= 1;
    else lines -= 1;
  }
  return { fos, lines };
}

export const FULFILLMENT_ORDER_LINES = /* GraphQL */ `
query FulfillmentOrderLines($id: ID!, $after: String) {
  fulfillmentOrder(id: $id) {
    lineItems(first: 250, after: $after) { nodes { ${FULFILLMENT_LINE} } pageInfo { hasNextPage endCursor } }
  }
}`;
export const FULFILLMENT_ORDER_LINES_COST = 1 + 2 + 250 * 3;

export const BULK_RUN = /* GraphQL */ `
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}`;

export const BULK_CURRENT = /* GraphQL */ `
query BulkCurrent {
  currentBulkOperation(type: QUERY) { id status query createdAt }
}`;

export const BULK_STATUS = /* GraphQL */ `
query BulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}`;
export const BULK_STATUS_COST = 1;

/**
 * 8 orders x 50 lines: 2 + 8 * (1 + 2 + 50 * 2) = 826 points, under the 1,000-point ceiling of one query (pageInfo is
 * free). An order of more lines says so (`hasNextPage`): its first 50 do not tell whether it still holds units.
 */
export const ORDERS_PAGE = 8;
export const ORDERS_LINES_PAGE = 50;
export const ORDERS_UPDATED_SINCE = /* GraphQL */ `
query OrdersUpdatedSince($query: String!, $after: String) {
  orders(first: ${ORDERS_PAGE}, after: $after, query: $query) {
    nodes { id updatedAt cancelledAt sourceName displayFulfillmentStatus lineItems(first: ${ORDERS_LINES_PAGE}) { nodes { id sku unfulfilledQuantity variant { id } } pageInfo { hasNextPage } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
export const ORDERS_UPDATED_SINCE_COST = 2 + ORDERS_PAGE * (1 + 2 + ORDERS_LINES_PAGE * 2);
