/** Our HTTP server in its own process for bench/flash-sale, as `inventory-sync server` runs: prints its URL. */
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import type { Config } from '../src/config/schema.js';
import { createPool } from '../src/db/pool.js';
import { createMetrics } from '../src/observability/metrics.js';
import { createRedis } from '../src/redis/client.js';
import { buildHttpServer } from '../src/starters/http/server.js';

// A clean exit on request, so a server started with --cpu-prof writes its profile (SIGKILL would lose it).
process.on('SIGUSR2', () => process.exit(0));

const spec = JSON.parse(process.env.FLASH_SERVER_SPEC!) as {
  temporalAddress: string;
  taskQueue: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  config: Config;
  env: Record<string, string>;
};
const connection = await Connection.connect({ address: spec.temporalAddress });
const app = buildHttpServer({
  db: createPool(spec.databaseUrl, 20),
  redis: createRedis(spec.redisUrl, spec.redisPrefix),
  config: spec.config,
  temporal: new Client({ connection }),
  taskQueue: spec.taskQueue,
  metrics: createMetrics(),
  // Warnings only (a slow Temporal signal, a failed hand-off): the benches read them from this process's output.
  logger: pino({ level: 'warn' }),
  env: spec.env,
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`server-url http://127.0.0.1:${(app.server.address() as { port: number }).port}\n`);
