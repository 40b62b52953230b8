import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, INTERNAL_ERROR_CODE, InventorySyncError } from '../../domain/errors.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * PostgreSQL or Redis not answering: refused or cut connections, SQLSTATE class 08 (connection exception) and
 * 57P01-57P03 (terminated by an administrator, crash shutdown, cannot connect now). A 503 the caller retries, not
 * a 500: a restart of PostgreSQL made every route answer ISYNC_INTERNAL (found by bench/chaos).
 */
export function storeOutOfReach(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code))) return true;
  return /^(Connection terminated|Client has encountered a connection error|Connection is closed)/.test(error.message);
}

/** SQLSTATE class 22 (data exception): an out-of-range date, a NUL in text, a number too large. */
function dataRefused(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && 'severity' in error;
}

/** Every error leaves as `{ code, message, details? }` with a code from the one catalogue. */
export function errorHandler(error: FastifyError | InventorySyncError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let err: InventorySyncError;
  if (error instanceof InventorySyncError) err = error;
  else if ('code' in error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = Errors.PayloadTooLarge('request body is larger than 1 MiB');
  else if ('code' in error && (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'))
    err = Errors.PayloadInvalid(error.message);
  else if ('statusCode' in error && error.statusCode === 400) err = Errors.PayloadInvalid(`malformed request body: ${error.message}`);
  else if (dataRefused(error)) {
    // A value the edge let through but PostgreSQL refused (SQLSTATE class 22): the caller's data, not our fault.
    err = Errors.PayloadInvalid(`a value was refused by the database: ${error.message.slice(0, 200)}`);
  } else if (storeOutOfReach(error)) {
    request.log.error({ err: error }, 'a store is out of reach');
    err = Errors.DependencyUnavailable('PostgreSQL or Redis is out of reach (restarting, or the connection was cut); nothing was half-written, retry the request', {
      cause: String((error as { code?: unknown }).code ?? error.message).slice(0, 80),
    });
  } else {
    request.log.error({ err: error }, 'unhandled error');
    reply.status(500).send({ code: INTERNAL_ERROR_CODE, message: 'internal error; see the server log' });
    return;
  }
  if (err.httpStatus >= 500) request.log.error({ code: err.code, msg: err.message }, 'request failed');
  else request.log.info({ code: err.code }, err.message);
  reply.status(err.httpStatus).send(err.toJSON());
}
