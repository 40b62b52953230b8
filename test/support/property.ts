import fc from 'fast-check';

/**
 * Property runs draw a new seed each run (PROPERTY_SEED replays one). A failure names the seed and the command
 * that replays it, so a counterexample found once in CI can be found again on a laptop.
 */
export function propertySeed(): number {
  const fromEnv = process.env.PROPERTY_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed)) throw new Error(`PROPERTY_SEED must be an integer, got "${fromEnv}"`);
    return seed;
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
}

export async function assertProperty<T>(file: string, property: fc.IAsyncPropertyWithHooks<T>, opts: { numRuns: number }): Promise<void> {
  const seed = propertySeed();
  try {
    await fc.assert(property, { seed, numRuns: opts.numRuns, endOnFailure: true });
  } catch (err) {
    (err as Error).message = `${(err as Error).message}\n\nReplay this run: PROPERTY_SEED=${seed} npx vitest run ${file}`;
    throw err;
  }
}
