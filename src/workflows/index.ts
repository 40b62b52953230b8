// The workflows the worker serves. Deterministic orchestration only: every side effect is an activity.
export { refreshWorkflow } from './refresh.js';
export { shopRefreshWorkflow, keysDirtySignal, pendingQuery, pendingKeysQuery } from './shop-refresh.js';
export { reservationWorkflow, orderEventSignal, allocationSignal, statusQuery } from './reservation.js';
export { shopRefreshStateQuery } from './shop-refresh.js';
export { deltaSyncWorkflow, syncProgressQuery } from './delta-sync.js';
export { reconcileWorkflow, reconcileProgressQuery } from './reconcile.js';
export { housekeepingWorkflow } from './housekeeping.js';
