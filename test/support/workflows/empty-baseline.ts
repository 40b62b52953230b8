/**
 * A workflow that does nothing: bench/flash-sale measures the Temporal server's rate for it in the same run, as
 * the ceiling the reservation path is compared with (its target: at least half of that rate).
 */
export async function emptyBaselineWorkflow(): Promise<void> {
  // Intentionally empty.
}
