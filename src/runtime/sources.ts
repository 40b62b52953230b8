import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { PostgresSnapshotSource } from '../sources/postgres-snapshots.js';

/**
 * Builds the configured source adapters. `postgres` and `simulator` sources both keep their truth in the
 * snapshot tables (the simulator writes there through the same event path a real system would use).
 */
export function createSources(config: Config, db: Db): SourceAdapter[] {
  return config.sources.map((s) => {
    switch (s.type) {
      case 'postgres':
      case 'simulator':
        return new PostgresSnapshotSource(s.name, s.role, db);
      case 'http':
        // The HTTP adapter keeps a snapshot too: pulls land in source_snapshots, reads come from there.
        return new PostgresSnapshotSource(s.name, s.role, db);
    }
  });
}
