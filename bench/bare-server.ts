/** bench/ingest's baseline: a bare Fastify server answering 202 to a JSON POST, in its own process. Prints its URL. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/sources/:source/events', async (req, reply) => reply.status(202).send({ status: 'accepted', events: (req.body as { events: unknown[] }).events.length }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`server-url http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`);
