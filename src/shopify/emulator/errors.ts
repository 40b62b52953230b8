/** A control-API refusal with the HTTP status it maps to (404 unknown thing, 409 wrong state, 422 short stock). */
export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra fields of the answer's body (e.g. a refused checkout's `code` and `lines`). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'EmulatorError';
  }
}
