import { Errors } from '../domain/errors.js';
import { SEARCH_ATTRIBUTE_FLAGS } from './search-attributes.js';

/**
 * Fails the start of a worker whose namespace cannot take what the workflows write: a namespace that does not
 * exist, or one without our search attributes (a namespace other than `default` on a server we did not start).
 * Without this check the worker started, and every workflow task failed with BadSearchAttributes in its log
 * while `sync` waited without a word.
 */
export async function assertNamespaceReady(
  client: { connection: { workflowService: { describeNamespace(r: { namespace: string }): Promise<unknown> }; operatorService: { listSearchAttributes(r: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }> } } },
  namespace: string,
  address: string,
): Promise<void> {
  try {
    await client.connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== 5) {
      throw Errors.DependencyUnavailable(`Temporal at ${address} (TEMPORAL_ADDRESS) did not describe the namespace "${namespace}": ${(err as Error).message}`, { address }, { cause: err });
    }
    throw Errors.ConfigInvalid(
      `TEMPORAL_NAMESPACE: the namespace "${namespace}" does not exist on the Temporal server at ${address}; create it once: temporal operator namespace create --namespace ${namespace} --address ${address}`,
      { namespace },
    );
  }
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_FLAGS.map((f) => f.split('=') as [string, string]).filter(([name]) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  // The CLI takes several names but one type per call.
  const types = [...new Set(missing.map(([, t]) => t))];
  const commands = types.map((t) => `temporal operator search-attribute create --namespace ${namespace} --address ${address} ${missing.filter(([, mt]) => mt === t).map(([n]) => `--name ${n}`).join(' ')} --type ${t}`);
  throw Errors.ConfigInvalid(
    `TEMPORAL_NAMESPACE: the namespace "${namespace}" lacks the search attributes the workflows set (${missing.map(([n, t]) => `${n} ${t}`).join(', ')}); register them once: ${commands.join(' && ')}`,
    { namespace, missing: missing.map(([n]) => n) },
  );
}
