import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The workflows' entry module: the TypeScript source under vitest, the compiled file in dist. */
export const WORKFLOWS_PATH = ['index.ts', 'index.js']
  .map((f) => fileURLToPath(new URL(`../workflows/${f}`, import.meta.url)))
  .find((p) => existsSync(p))!;
/** Prebuilt at `npm run build` so production workers start without running webpack. */
export const PREBUILT_BUNDLE_PATH = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));

async function main(): Promise<void> {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  writeFileSync(PREBUILT_BUNDLE_PATH, code);
  console.log(`workflow bundle written to ${PREBUILT_BUNDLE_PATH} (${Math.round(code.length / 1024)} KiB)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
