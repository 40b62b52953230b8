import { Errors } from '../../domain/errors.js';

/** A command whose work belongs to a later piece says so plainly and fails; nothing pretends to succeed. */
export function notAvailableYet(command: string, what: string): never {
  throw Errors.NotAvailableYet(`"inventory-sync ${command}" is not available yet: ${what} is not built in this version`);
}
