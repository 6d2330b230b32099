import type { CgroupDriver } from './cgroup-driver.js';
import { parseSandboxCgroupName, readProcessIdentity, type ProcessIdentity } from './cgroup-layout.js';

/**
 * Start-up clean-up of what a crashed predecessor left: sandbox cgroups under sandgate's own
 * tree whose creator is gone. Normally the launcher removes its cgroups when its caller dies
 * (launcher-contract.md, exit 212), but a gateway that crashed between creating a cgroup and
 * spawning the launcher, or a SIGKILLed launcher, leaves one behind.
 *
 * Only directories in the driver's tree that match the sandbox naming scheme are candidates;
 * anything else there is foreign and never touched. A candidate whose owner (pid + start
 * time, in its name) is still alive belongs to a live sibling sharing the tree and is spared.
 */

export interface ReapOutcome {
  /** Stale sandbox cgroups: tasks killed, directories removed. */
  readonly removed: readonly string[];
  /** Sandbox cgroups of a live owner (this process, or a sibling sharing the tree). */
  readonly spared: readonly string[];
  /** Directories in the tree that are not sandbox cgroups: never touched. */
  readonly foreign: readonly string[];
  /** Stale cgroups that could not be removed, with why (the caller logs them). */
  readonly failed: readonly { readonly name: string; readonly error: unknown }[];
}

export type OwnerLiveness = (owner: ProcessIdentity) => Promise<boolean>;

/**
 * Alive = the pid exists with the same start time (so a reused pid is not mistaken for the
 * owner). Owners are compared in this process's pid namespace, which is the creator's when
 * they share a cgroup tree (ARCHITECTURE: one gateway per own cgroup).
 */
export async function isOwnerAlive(owner: ProcessIdentity): Promise<boolean> {
  const now = await readProcessIdentity(owner.pid);
  return now !== undefined && now.startTicks === owner.startTicks;
}

export async function reapStaleSandboxCgroups(
  driver: CgroupDriver,
  options: { readonly isOwnerAlive?: OwnerLiveness } = {},
): Promise<ReapOutcome> {
  const alive = options.isOwnerAlive ?? isOwnerAlive;
  const removed: string[] = [];
  const spared: string[] = [];
  const foreign: string[] = [];
  const failed: { name: string; error: unknown }[] = [];
  for (const name of await driver.listChildren()) {
    const parsed = parseSandboxCgroupName(name);
    if (parsed === undefined) {
      foreign.push(name);
      continue;
    }
    if (await alive(parsed.owner)) {
      spared.push(name);
      continue;
    }
    const cgroup = driver.open(name);
    try {
      await cgroup.killAll();
      await cgroup.remove();
      removed.push(name);
    } catch (error) {
      failed.push({ name, error });
    }
  }
  return { removed, spared, foreign, failed };
}
