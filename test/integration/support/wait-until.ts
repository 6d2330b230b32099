/**
 * Bounded polling of host state (process table, cgroup tree, files): the only waiting these
 * tests do besides output and exit events. Never a sleep used as synchronisation: each call
 * names what it waits for and fails with that name and the last state it saw.
 */

export interface WaitOptions {
  /** Give up after this long, ms. */
  readonly timeoutMs: number;
  /** Pause between probes, ms (default 20). */
  readonly intervalMs?: number;
}

/** Outcome of one probe: `done` stops the wait; `state` describes what was seen, for the error. */
export type Probe<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly state: string };

export async function waitUntil<T>(what: string, probe: () => Probe<T> | Promise<Probe<T>>, options: WaitOptions): Promise<T> {
  const intervalMs = options.intervalMs ?? 20;
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const outcome = await probe();
    if (outcome.done) return outcome.value;
    if (performance.now() >= deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}; last seen: ${outcome.state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Rejects with a message naming `what` if `promise` has not settled within `timeoutMs`;
 * `what` may be a function, called at the timeout to describe the state then.
 */
export async function within<T>(what: string | (() => string), timeoutMs: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const description = typeof what === 'string' ? what : what();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
