import type { Lease, QuotaStore } from './quota-store.js';

export interface LeaseKeeperOptions {
  /** Renewal period, ms; a third of leaseTtlMs leaves two retries before the lease expires. */
  readonly renewEveryMs: number;
  /** The store no longer holds the lease (it expired or was released): end the session. */
  readonly onLost: (lease: Lease) => void;
  /** A renewal failed to reach the store; the next one is tried on schedule. */
  readonly onError?: (error: unknown) => void;
}

export interface LeaseKeeper {
  /** The latest renewed lease (release this one). */
  readonly lease: Lease;
  /** Stops renewing. Idempotent; does not release the lease (the owner's dispose() does). */
  stop(): void;
}

/**
 * Renews a session's lease on a timer for as long as the session runs. One renewal at a time:
 * the next is scheduled when the previous has settled (a setTimeout chain, never overlapping
 * setInterval ticks), and nothing is scheduled after stop().
 */
export function keepLeaseAlive(store: QuotaStore, lease: Lease, options: LeaseKeeperOptions): LeaseKeeper {
  let current = lease;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void renewOnce(), options.renewEveryMs);
    timer.unref();
  };
  const renewOnce = async (): Promise<void> => {
    try {
      const renewed = await store.renew(current);
      if (stopped) return;
      if (renewed === undefined) {
        stopped = true;
        options.onLost(current);
        return;
      }
      current = renewed;
    } catch (error) {
      if (!stopped) options.onError?.(error);
    }
    schedule();
  };

  schedule();
  return {
    get lease() {
      return current;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
