import type { z } from 'zod';
import { Errors } from '../../domain/errors.js';

/** Validates a payload; a failure is a 400 whose message names the first offending field. */
export function parsePayload<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
  // Sent as text (content-type text/plain, or none given): the body reached us as a string, not as JSON.
  if (typeof value === 'string' && issue.path.length === 0) {
    throw Errors.PayloadInvalid(`${what}: (body): expected a JSON object, got text; send it as JSON with content-type: application/json`, { field });
  }
  throw Errors.PayloadInvalid(`${what}: ${field}: ${issue.message}`, { field, issues: result.error.issues.slice(0, 5).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) });
}

/** A header Shopify (or a caller) must send; missing is a 400 naming it. */
export function requiredHeader(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name.toLowerCase()];
  const value = Array.isArray(v) ? v[0] : v;
  if (!value) throw Errors.PayloadInvalid(`header ${name} is missing`, { field: name });
  return value;
}
