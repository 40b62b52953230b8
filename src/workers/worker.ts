import { existsSync } from 'node:fs';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities/index.js';
import { DEFAULT_WORKER_CONFIG, type WorkerConfig } from '../config/schema.js';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from './bundle.js';

export interface InventoryWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A prebuilt bundle (production, tests); falls back to bundling the sources at start (development). */
  workflowBundlePath?: string;
  /** `inventory_sync.worker` of the configuration; the defaults otherwise. */
  capacity?: WorkerConfig;
  overrides?: Partial<WorkerOptions>;
}

export async function createInventoryWorker(opts: InventoryWorkerOptions): Promise<Worker> {
  const bundlePath = opts.workflowBundlePath ?? (existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined);
  const capacity = opts.capacity ?? DEFAULT_WORKER_CONFIG;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    // In-flight activities get time to finish on SIGTERM instead of being cancelled at once (the SDK default is 0).
    shutdownGraceTime: '20 seconds',
    // Defaults (inventory_sync.worker): most workflow tasks here are the first task of a new order's workflow,
    // which only the non-sticky queue delivers: the SDK default (10 pollers, a fifth of them non-sticky) leaves two
    // pollers for them, and in a flash sale the tasks waited there while the worker had CPU to spare. The local
    // activities run inside the task, so a slot is held for the whole claim: more slots than the SDK's 40.
    maxConcurrentWorkflowTaskExecutions: capacity.max_concurrent_workflow_tasks,
    maxConcurrentWorkflowTaskPolls: capacity.workflow_task_pollers,
    nonStickyToStickyPollRatio: 0.5,
    // Two workflow threads by default: each activation waits on the SDK's per-call execution watchdog (a thread
    // started and joined per call into the sandbox), and the CPU profile showed that wait as the workflow thread's
    // largest cost; a second thread runs other workflows' activations meanwhile.
    workflowThreadPoolSize: capacity.workflow_threads,
    maxConcurrentActivityTaskExecutions: capacity.max_concurrent_activities,
    maxConcurrentLocalActivityExecutions: capacity.max_concurrent_local_activities,
    ...opts.overrides,
  });
}
