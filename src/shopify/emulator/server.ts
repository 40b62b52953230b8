import Fastify, { type FastifyInstance } from 'fastify';
import type { Emulator } from './emulator.js';
import { registerControlRoutes } from './control-routes.js';
import { handleGraphql } from './graphql-handler.js';

export interface ServerOptions {
  logger?: unknown;
}

/** The HTTP face of an Emulator: Shopify's GraphQL endpoint plus the /_emulator/ control API. */
export function buildServer(emulator: Emulator, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger ? (opts.logger as never) : undefined,
    logger: opts.logger ? undefined : false,
    bodyLimit: 20 * 1024 * 1024,
    // Faults may hang a request for a while; do not let Node cut it short.
    requestTimeout: 0,
  } as never) as unknown as FastifyInstance;

  app.post('/admin/api/:version/graphql.json', async (req, reply) => {
    const { version } = req.params as { version: string };
    const answer = await handleGraphql(emulator, { version, headers: req.headers, body: req.body });
    if (answer.close) {
      req.raw.socket.destroy();
      return reply.hijack();
    }
    if (answer.headers) reply.headers(answer.headers);
    return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body);
  });

  registerControlRoutes(app, emulator);
  return app;
}
