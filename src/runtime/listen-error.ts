import { Errors } from '../domain/errors.js';

/**
 * A failed listen as our error: a taken port is ISYNC_PORT_IN_USE naming the setting that chose it, a forbidden
 * one ISYNC_CONFIG_INVALID; anything else as it came. The worker's metrics port and the HTTP server use it.
 */
export function explainListenError(err: unknown, port: number, host: string, setting: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return Errors.PortInUse(`${setting} ${port} is already in use (${host}:${port}); stop what listens there or set ${setting} to a free port (0 = any)`, { port });
  if (code === 'EACCES') return Errors.ConfigInvalid(`${setting} ${port}: not allowed to listen there (${(err as Error).message})`, { port });
  return err;
}
