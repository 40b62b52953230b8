/**
 * The one catalogue of errors the outside world can see. Each has a stable code that appears in HTTP
 * responses, logs and Temporal failure types alike, so an operator can grep one string across all three.
 */
export interface ErrorDefinition {
  readonly code: string;
  readonly httpStatus: number;
  /** Whether retrying the same operation can succeed (drives Temporal retry policies). */
  readonly retryable: boolean;
}

export class InventorySyncError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(def: ErrorDefinition, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InventorySyncError';
    this.code = def.code;
    this.httpStatus = def.httpStatus;
    this.retryable = def.retryable;
    this.details = details;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

function define(code: string, httpStatus: number, retryable: boolean) {
  const def: ErrorDefinition = { code, httpStatus, retryable };
  const make = (message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) =>
    new InventorySyncError(def, message, details, options);
  return Object.assign(make, def, {
    is: (err: unknown): err is InventorySyncError => err instanceof InventorySyncError && err.code === code,
  });
}

export const Errors = {
  // configuration and start-up
  ConfigInvalid: define('ISYNC_CONFIG_INVALID', 500, false),
  DependencyUnavailable: define('ISYNC_DEPENDENCY_UNAVAILABLE', 503, true),
  TemporalCliMissing: define('ISYNC_TEMPORAL_CLI_MISSING', 500, false),
  /** The Temporal server or its schema tool is not built and cannot be (no Go toolchain, a failed build). */
  TemporalServerMissing: define('ISYNC_TEMPORAL_SERVER_MISSING', 500, false),
  /** The schema tool could not create or update Temporal's databases. */
  TemporalSchemaFailed: define('ISYNC_TEMPORAL_SCHEMA_FAILED', 500, false),
  PortInUse: define('ISYNC_PORT_IN_USE', 500, false),

  // input at the edges
  PayloadInvalid: define('ISYNC_PAYLOAD_INVALID', 400, false),
  ArgumentInvalid: define('ISYNC_ARGUMENT_INVALID', 400, false),
  PayloadTooLarge: define('ISYNC_PAYLOAD_TOO_LARGE', 413, false),
  WebhookSignatureInvalid: define('ISYNC_WEBHOOK_SIGNATURE_INVALID', 401, false),
  /** Kept for the failure types recorded histories list; routes answer ISYNC_UNAUTHORIZED. */
  SourceUnauthorized: define('ISYNC_SOURCE_UNAUTHORIZED', 401, false),
  /** One answer for a missing, wrong or unknown token, an unknown source and a token of the wrong role. */
  Unauthorized: define('ISYNC_UNAUTHORIZED', 401, false),
  /** A valid token asking for a shop it is not bound to (configured or not: the answer is the same). */
  Forbidden: define('ISYNC_FORBIDDEN', 403, false),
  RateLimited: define('ISYNC_RATE_LIMITED', 429, true),
  /** The webhook's topic header (not covered by the HMAC) says something the signed payload does not. */
  WebhookTopicMismatch: define('ISYNC_WEBHOOK_TOPIC_MISMATCH', 422, false),
  UnknownShop: define('ISYNC_UNKNOWN_SHOP', 404, false),
  UnknownSource: define('ISYNC_UNKNOWN_SOURCE', 404, false),
  /** A push to a source that inventory-sync pulls (type http or sql): the push would be ignored. */
  SourceIsPulled: define('ISYNC_SOURCE_IS_PULLED', 409, false),
  UnknownSku: define('ISYNC_UNKNOWN_SKU', 422, false),
  MappingInvalid: define('ISYNC_MAPPING_INVALID', 400, false),
  NotFound: define('ISYNC_NOT_FOUND', 404, false),
  /** A read (/ats, /explain, the console) for a SKU the shop has no mapping of. */
  SkuNotFound: define('ISYNC_SKU_NOT_FOUND', 404, false),
  /** A read for a location the shop does not stock the SKU at (or does not have). */
  LocationNotFound: define('ISYNC_LOCATION_NOT_FOUND', 404, false),

  // source systems
  SourceTimeout: define('ISYNC_SOURCE_TIMEOUT', 504, true),
  SourceFailed: define('ISYNC_SOURCE_FAILED', 502, true),

  // the guarded write
  StaleVersion: define('ISYNC_STALE_VERSION', 409, false),
  /** An attempt that Temporal gave up on, or that lost its write lease, dropped its write instead of sending it. */
  WriteAbandoned: define('ISYNC_WRITE_ABANDONED', 409, true),

  // the Shopify boundary
  ShopifyThrottled: define('ISYNC_SHOPIFY_THROTTLED', 429, true),
  ShopifyUnavailable: define('ISYNC_SHOPIFY_UNAVAILABLE', 502, true),
  ShopifyStaleCompare: define('ISYNC_SHOPIFY_STALE_COMPARE', 409, false),
  ShopifyIdempotencyInFlight: define('ISYNC_SHOPIFY_IDEMPOTENCY_IN_FLIGHT', 409, true),
  ShopifyIdempotencyMismatch: define('ISYNC_SHOPIFY_IDEMPOTENCY_MISMATCH', 409, false),
  ShopifyUserError: define('ISYNC_SHOPIFY_USER_ERROR', 422, false),
  ShopifyGraphqlError: define('ISYNC_SHOPIFY_GRAPHQL_ERROR', 502, false),
  ShopifyAuth: define('ISYNC_SHOPIFY_AUTH', 401, false),
} as const;

/** The code of any failure from outside the catalogue (a bug, a library's error): never retried blindly by callers. */
export const INTERNAL_ERROR_CODE = 'ISYNC_INTERNAL';

/** The catalogue code of an error, or INTERNAL_ERROR_CODE for one from outside it. */
export function errorCodeOf(err: unknown): string {
  return err instanceof InventorySyncError ? err.code : INTERNAL_ERROR_CODE;
}

/** Codes that a Temporal retry cannot fix; activities' retry policies list them as non-retryable types. */
export const NON_RETRYABLE_CODES: string[] = Object.values(Errors)
  .filter((e) => !e.retryable)
  .map((e) => e.code);
