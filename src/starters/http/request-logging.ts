import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * The ingest routes take one small request per event, a thousand a second: two info lines per request cost more
 * than the request itself (issue 17). On these routes only failures are logged (status >= 400, or an error);
 * the error handler logs every refusal with its code either way. Other routes log every request as before.
 */
export const QUIET_ROUTES: ReadonlySet<string> = new Set(['/sources/:source/events', '/wms/allocations', '/orders']);

const quiet = (request: FastifyRequest) => QUIET_ROUTES.has((request as { routeOptions?: { url?: string } }).routeOptions?.url ?? '');

export class IngestQuietLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (quiet(request)) return;
    super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (quiet(request) && !error && reply.statusCode < 400) return;
    super.requestCompleted(error, request, reply);
  }
}
