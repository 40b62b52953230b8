import type { Config } from '../config/schema.js';
import { secretFromEnv } from '../config/load.js';
import type { Db } from '../db/pool.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { HttpJsonSource } from '../sources/http-json.js';
import { PostgresSnapshotSource } from '../sources/postgres-snapshots.js';

/**
 * Builds the configured source adapters. `postgres` and `simulator` sources both keep their truth in the
 * snapshot tables (the simulator writes there through the same event path a real system would use); `http`
 * sources are read live through their REST contract (docs/sources.md).
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
    }
  });
}
