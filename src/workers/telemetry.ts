import { createServer } from 'node:net';
import { Runtime, type RuntimeOptions } from '@temporalio/worker';

/** A port nobody listens on now (the kernel's choice); the exporter binds it a moment later. */
async function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Installs the process's Temporal Runtime (once per process) with the SDK's Prometheus exporter on a loopback
 * port of its own; the worker's metrics server merges what it exports into its /metrics.
 */
export async function installWorkerRuntime(options: Omit<RuntimeOptions, 'telemetryOptions'> = {}): Promise<{ temporalMetricsUrl: string }> {
  const port = await freeLocalPort();
  Runtime.install({
    ...options,
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}`, countersTotalSuffix: true, useSecondsForDurations: true } } },
  });
  return { temporalMetricsUrl: `http://127.0.0.1:${port}/metrics` };
}
