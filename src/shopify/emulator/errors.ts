/** A control-API refusal with the HTTP status it maps to (404 unknown thing, 409 wrong state, 422 short stock). */
export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorError';
  }
}
