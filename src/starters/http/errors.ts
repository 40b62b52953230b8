import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, INTERNAL_ERROR_CODE, InventorySyncError } from '../../domain/errors.js';

/** Every error leaves as `{ code, message, details? }` with a code from the one catalogue. */
export function errorHandler(error: FastifyError | InventorySyncError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let err: InventorySyncError;
  if (error instanceof InventorySyncError) err = error;
  else if ('code' in error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = Errors.PayloadTooLarge('request body is larger than 1 MiB');
  else if ('code' in error && (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'))
    err = Errors.PayloadInvalid(error.message);
  else if ('statusCode' in error && error.statusCode === 400) err = Errors.PayloadInvalid(`malformed request body: ${error.message}`);
  else {
    request.log.error({ err: error }, 'unhandled error');
    reply.status(500).send({ code: INTERNAL_ERROR_CODE, message: 'internal error; see the server log' });
    return;
  }
  if (err.httpStatus >= 500) request.log.error({ code: err.code, msg: err.message }, 'request failed');
  else request.log.info({ code: err.code }, err.message);
  reply.status(err.httpStatus).send(err.toJSON());
}
