import { existsSync } from 'node:fs';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities/index.js';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from './bundle.js';

export interface InventoryWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A prebuilt bundle (production, tests); falls back to bundling the sources at start (development). */
  workflowBundlePath?: string;
  overrides?: Partial<WorkerOptions>;
}

export async function createInventoryWorker(opts: InventoryWorkerOptions): Promise<Worker> {
  const bundlePath = opts.workflowBundlePath ?? (existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined);
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    // In-flight activities get time to finish on SIGTERM instead of being cancelled at once (the SDK default is 0).
    shutdownGraceTime: '20 seconds',
    ...opts.overrides,
  });
}
