import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import { ensureDatabase } from './pool.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface MigrationResult {
  applied: string[];
}

/** Applies pending migrations (node-pg-migrate, under an advisory lock); a second run applies nothing. */
export async function migrate(databaseUrl: string, log: (line: string) => void = () => undefined): Promise<MigrationResult> {
  await ensureDatabase(databaseUrl);
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    singleTransaction: true,
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
  return { applied: applied.map((m) => m.name) };
}
