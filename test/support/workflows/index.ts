// The workflows test and bench workers serve: every production workflow, plus the benches' empty baseline (kept
// out of the production bundle, src/workers/bundle.ts).
export * from '../../../src/workflows/index.js';
export { emptyBaselineWorkflow } from './empty-baseline.js';
