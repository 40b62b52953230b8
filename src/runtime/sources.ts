import type { Config } from '../config/schema.js';
import { secretFromEnv } from '../config/load.js';
import type { Db } from '../db/pool.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { HttpJsonSource } from '../sources/http-json.js';
import { PostgresSnapshotSource } from '../sources/postgres-snapshots.js';
import { createDialect } from '../sources/sql/dialects.js';
import { SqlSource } from '../sources/sql/sql-source.js';

export const DEFAULT_SQL_LOOKBACK_SECONDS = 300;
const DEFAULT_SQL_TIMEOUT_MS = 10_000;

/**
 * Builds the configured source adapters. `postgres` and `simulator` sources both keep their truth in the
 * snapshot tables (the simulator writes there through the same event path a real system would use); `http`
 * sources are read live through their REST contract, `sql` sources straight from the merchant's database
 * (docs/sources.md). Connection pools open lazily: building them connects to nothing.
 */
export function createSources(config: Config, db: Db, env: NodeJS.ProcessEnv = process.env): SourceAdapter[] {
  return config.sources.map((s) => {
    switch (s.type) {
      case 'postgres':
      case 'simulator':
        return new PostgresSnapshotSource(s.name, s.role, db);
      case 'http':
        return new HttpJsonSource({
          name: s.name,
          role: s.role,
          url: s.url!,
          ...(s.pull_token_env ? { token: secretFromEnv(s.pull_token_env, env) } : {}),
          ...(s.request_timeout_ms ? { requestTimeoutMs: s.request_timeout_ms } : {}),
          ...(s.max_reply_bytes ? { maxReplyBytes: s.max_reply_bytes } : {}),
        });
      case 'sql': {
        const connection = secretFromEnv(s.connection_env!, env);
        const timeoutMs = s.request_timeout_ms ?? DEFAULT_SQL_TIMEOUT_MS;
        return new SqlSource({
          name: s.name,
          role: s.role,
          dialect: createDialect(s.dialect === 'postgres' ? 'postgres' : 'mysql', connection, timeoutMs),
          connection,
          query: s.query!,
          ...(s.shop ? { shop: s.shop } : {}),
          lookbackSeconds: s.lookback_seconds ?? DEFAULT_SQL_LOOKBACK_SECONDS,
          timeoutMs,
          ...(s.commit_order ? { commitOrder: true } : {}),
        });
      }
    }
  });
}

/** Closes what the sources hold open (SQL pools). */
export async function closeSources(sources: SourceAdapter[]): Promise<void> {
  await Promise.all(sources.map((s) => s.close?.().catch(() => undefined)));
}
