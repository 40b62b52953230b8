import { buildSchema, type GraphQLSchema } from 'graphql';

/** Codes Shopify documents for the inventory mutations; one enum per payload, as in the real schema. */
export const INVENTORY_USER_ERROR_CODES = [
  'CHANGE_FROM_QUANTITY_STALE',
  'IDEMPOTENCY_CONCURRENT_REQUEST',
  'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
  'IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED',
  'INVALID_INVENTORY_ITEM',
  'INVALID_LOCATION',
  'INVALID_QUANTITY_NEGATIVE',
  'INVALID_QUANTITY_TOO_HIGH',
  'INVALID_QUANTITY_NAME',
  'INVALID_NAME',
  'INVALID_REASON',
  'INVALID_REFERENCE_DOCUMENT',
  'INVALID_LEDGER_DOCUMENT',
  'ITEM_NOT_STOCKED_AT_LOCATION',
  'NON_MUTABLE_INVENTORY_ITEM',
  'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR',
  'DIFFERENT_LOCATIONS',
  'SAME_QUANTITY_NAME',
] as const;
export type InventoryUserErrorCode = (typeof INVENTORY_USER_ERROR_CODES)[number];

const codes = INVENTORY_USER_ERROR_CODES.join(' ');
const conn = (t: string) => `
type ${t}Connection { edges: [${t}Edge!]! nodes: [${t}!]! pageInfo: PageInfo! }
type ${t}Edge { cursor: String! node: ${t}! }`;
const pageArgs = 'first: Int, after: String, last: Int, before: String, reverse: Boolean = false';

export const SDL = /* GraphQL */ `
directive @idempotent(key: String!) on FIELD

scalar DateTime
scalar URL
scalar UnsignedInt64
scalar Money

interface Node { id: ID! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type Shop { id: ID! name: String! myshopifyDomain: String! plan: ShopPlan! }
type ShopPlan { displayName: String! partnerDevelopment: Boolean! shopifyPlus: Boolean! }

type Location implements Node {
  id: ID!
  name: String!
  isActive: Boolean!
  isFulfillmentService: Boolean!
  inventoryLevels(${pageArgs}, query: String): InventoryLevelConnection!
  inventoryLevel(inventoryItemId: ID!): InventoryLevel
}
${conn('Location')}

type InventoryItem implements Node {
  id: ID!
  sku: String
  tracked: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  variant: ProductVariant!
  inventoryLevels(${pageArgs}, query: String): InventoryLevelConnection!
  inventoryLevel(locationId: ID!): InventoryLevel
}
${conn('InventoryItem')}

type InventoryLevel implements Node {
  id: ID!
  isActive: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  item: InventoryItem!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}
${conn('InventoryLevel')}

type InventoryQuantity { id: ID! name: String! quantity: Int! updatedAt: DateTime }

enum ProductVariantInventoryPolicy { DENY CONTINUE }

type ProductVariant implements Node {
  id: ID!
  sku: String
  title: String!
  price: Money!
  inventoryPolicy: ProductVariantInventoryPolicy!
  inventoryItem: InventoryItem!
  product: Product!
}
${conn('ProductVariant')}

type Product implements Node {
  id: ID!
  title: String!
  variants(${pageArgs}): ProductVariantConnection!
}

type Order implements Node {
  id: ID!
  name: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  sourceName: String
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  lineItems(${pageArgs}): LineItemConnection!
  fulfillmentOrders(${pageArgs}): FulfillmentOrderConnection!
}

enum OrderDisplayFulfillmentStatus { UNFULFILLED PARTIALLY_FULFILLED FULFILLED }

type LineItem implements Node {
  id: ID!
  sku: String
  name: String!
  quantity: Int!
  currentQuantity: Int!
  unfulfilledQuantity: Int!
  variant: ProductVariant
}
${conn('LineItem')}
${conn('Order')}

enum FulfillmentOrderStatus { OPEN IN_PROGRESS CANCELLED INCOMPLETE CLOSED SCHEDULED ON_HOLD }

type FulfillmentOrderAssignedLocation { name: String! location: Location }

type FulfillmentOrder implements Node {
  id: ID!
  status: FulfillmentOrderStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  assignedLocation: FulfillmentOrderAssignedLocation!
  order: Order!
  lineItems(${pageArgs}): FulfillmentOrderLineItemConnection!
}
${conn('FulfillmentOrder')}

type FulfillmentOrderLineItem implements Node {
  id: ID!
  totalQuantity: Int!
  remainingQuantity: Int!
  sku: String
  lineItem: LineItem!
}
${conn('FulfillmentOrderLineItem')}

enum BulkOperationStatus { CREATED RUNNING COMPLETED FAILED CANCELING CANCELED EXPIRED }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { QUERY MUTATION }

type BulkOperation implements Node {
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  createdAt: DateTime!
  completedAt: DateTime
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  query: String!
  type: BulkOperationType!
}

type Query {
  shop: Shop!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  inventoryItems(${pageArgs}, query: String): InventoryItemConnection!
  inventoryItem(id: ID!): InventoryItem
  inventoryLevel(id: ID!): InventoryLevel
  productVariants(${pageArgs}, query: String): ProductVariantConnection!
  productVariant(id: ID!): ProductVariant
  product(id: ID!): Product
  "Fulfillment-service (legacy) locations are listed only with includeLegacy: true; inactive ones only with includeInactive: true."
  locations(${pageArgs}, query: String, includeInactive: Boolean = false, includeLegacy: Boolean = false): LocationConnection!
  location(id: ID): Location
  order(id: ID!): Order
  "Search terms: updated_at, created_at (with >, >=, <, <=), status (open | cancelled), fulfillment_status (unfulfilled | partial | fulfilled), source_name."
  orders(${pageArgs}, query: String): OrderConnection!
  fulfillmentOrder(id: ID!): FulfillmentOrder
  bulkOperation(id: ID!): BulkOperation
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  "Required since 2026-04: write null to skip the compare-and-swap check; omitting it is an error."
  changeFromQuantity: Int
}

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}

input InventoryChangeInput {
  inventoryItemId: ID!
  locationId: ID!
  delta: Int!
  changeFromQuantity: Int
  ledgerDocumentUri: String
}

input InventoryAdjustQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChangeInput!]!
}

input InventoryMoveQuantityTerminalInput {
  locationId: ID!
  name: String!
  ledgerDocumentUri: String
  changeFromQuantity: Int
}

input InventoryMoveQuantityChange {
  inventoryItemId: ID!
  quantity: Int!
  from: InventoryMoveQuantityTerminalInput!
  to: InventoryMoveQuantityTerminalInput!
}

input InventoryMoveQuantitiesInput {
  reason: String!
  referenceDocumentUri: String!
  changes: [InventoryMoveQuantityChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  ledgerDocumentUri: String
  item: InventoryItem
  location: Location
}

type InventoryAdjustmentGroup implements Node {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}

enum InventorySetQuantitiesUserErrorCode { ${codes} }
enum InventoryAdjustQuantitiesUserErrorCode { ${codes} }
enum InventoryMoveQuantitiesUserErrorCode { ${codes} }

type InventorySetQuantitiesUserError { code: InventorySetQuantitiesUserErrorCode field: [String!] message: String! }
type InventoryAdjustQuantitiesUserError { code: InventoryAdjustQuantitiesUserErrorCode field: [String!] message: String! }
type InventoryMoveQuantitiesUserError { code: InventoryMoveQuantitiesUserErrorCode field: [String!] message: String! }

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}
type InventoryAdjustQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventoryAdjustQuantitiesUserError!]!
}
type InventoryMoveQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventoryMoveQuantitiesUserError!]!
}

enum BulkOperationUserErrorCode { INVALID OPERATION_IN_PROGRESS LIMIT_REACHED NO_SUCH_FILE }
type BulkOperationUserError { code: BulkOperationUserErrorCode field: [String!] message: String! }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }
type BulkOperationCancelPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  inventoryAdjustQuantities(input: InventoryAdjustQuantitiesInput!): InventoryAdjustQuantitiesPayload
  inventoryMoveQuantities(input: InventoryMoveQuantitiesInput!): InventoryMoveQuantitiesPayload
  bulkOperationRunQuery(query: String!, groupObjects: Boolean! = false): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
}
`;

/** Mutation fields that touch inventory: they need @idempotent and changeFromQuantity on every quantity. */
export const INVENTORY_MUTATIONS = new Set(['inventorySetQuantities', 'inventoryAdjustQuantities', 'inventoryMoveQuantities']);

let cached: GraphQLSchema | undefined;
export function emulatorSchema(): GraphQLSchema {
  cached ??= buildSchema(SDL);
  return cached;
}
