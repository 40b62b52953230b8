import { doubtLastSeen } from '../guard/last-seen.js';
import { createDeltaSyncActivities, type DeltaSyncDeps } from './delta-sync.js';
import { withFailureTypes } from './failures.js';
import { createHousekeepingActivities } from './housekeeping.js';
import { createMarkDirtyActivities } from './mark-dirty.js';
import type { MarkDirtyDeps } from '../temporal/handoff.js';
import { createReconcileActivities, type ReconcileDeps } from './reconcile.js';
import { createMissedOrderActivities } from './reconcile-missed-orders.js';
import { createReconcileExportActivities, type ReconcileExportDeps } from './reconcile-export.js';
import { createRefreshActivities, type RefreshDeps } from './refresh.js';
import { createReservationActivities, type ReservationDeps } from './reservation-activities.js';

export type ActivityDeps = RefreshDeps & MarkDirtyDeps & Omit<ReservationDeps, 'markDirty'> & DeltaSyncDeps & ReconcileDeps & Omit<ReconcileExportDeps, 'refreshKeys'>;

/** Every activity the worker registers, built from injected dependencies (no globals): tests pass real clients. */
export function createActivities(deps: ActivityDeps) {
  const dirty = createMarkDirtyActivities(deps);
  const refresh = createRefreshActivities({ ...deps, retryLater: dirty.markDirty });
  return withFailureTypes({
    ...refresh,
    ...createReconcileActivities({ ...deps, refreshKeys: refresh.refreshKeys }),
    ...createMissedOrderActivities(deps),
    ...createReconcileExportActivities({ ...deps, refreshKeys: refresh.refreshKeys }),
    ...dirty,
    ...createReservationActivities({ ...deps, markDirty: dirty.markDirty, shopifyMoved: (shopId, keys, movedAt) => doubtLastSeen(deps.redis, shopId, keys, movedAt) }),
    ...createDeltaSyncActivities(deps),
    ...createHousekeepingActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
