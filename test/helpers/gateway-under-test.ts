import fs from 'node:fs';
import { request } from 'node:http';
import type { OpenFrame } from '../../client-sdk/src/protocol/index.js';
import { cgroupHierarchiesOf } from '../integration/support/cgroup-cell.js';
import { descendantsOf, identify, isAlive, argvOf, type ProcessIdentity } from '../integration/support/host-processes.js';
import { PROMPT, PROMPT_RE, SgClient, WAIT_MS } from './gateway-attack-client.js';

/**
 * What the gateway end-to-end tests need from a running gateway — in process over the
 * harness (gateway-harness.ts), or `sandgate serve` as a child process for memory figures
 * (gateway-under-test-start.ts): URLs, tokens, drain, lease counts, the gateway process's
 * memory, and the sandboxes it started (host processes and cgroups), so that a test can prove
 * they are gone. Plus the session openers every file uses.
 */

export interface GatewayUnderTest {
  /** `http://host:port/` */
  readonly url: string;
  readonly sessionsUrl: string;
  /** The process that runs the gateway (and is the ancestor of its sandboxes). */
  readonly pid: number;
  token(claims?: { tenant?: string; user?: string; scopes?: ('pty' | 'exec' | 'attach')[]; limits?: { sessions?: number } }): Promise<string>;
  drain(): Promise<void>;
  /** Leases held in the quota store. */
  counts(who: { tenant: string; user: string }): Promise<{ tenant: number; user: number }>;
  /** VmRSS of the gateway process, bytes. */
  rss(): Promise<number>;
  readyzStatus(): Promise<number>;
}

export { startGatewayChild, startGatewayUnderTest } from './gateway-under-test-start.js';

/** A session opened with `frame`; resolves after its hello (and fails on an error frame). */
export async function openSession(gw: GatewayUnderTest, token: string, frame: OpenFrame, options: { readonly autoAck?: boolean; readonly keepBytes?: number } = {}): Promise<SgClient> {
  const client = await SgClient.connect(gw.sessionsUrl, { token, ...options });
  client.send(frame);
  await client.until('hello', () => {
    const answer = client.controls.find((f) => f.type === 'hello' || f.type === 'error');
    if (answer?.type === 'error') throw new Error(`open refused: ${answer.code} ${answer.message}`);
    return answer;
  }, WAIT_MS);
  return client;
}

/** A bash on a PTY with a known prompt (PROMPT), no rc files; resolves once the prompt is shown. */
export async function openShell(gw: GatewayUnderTest, token: string, options: { readonly autoAck?: boolean; readonly keepBytes?: number } = {}): Promise<SgClient> {
  const client = await openSession(gw, token, {
    type: 'open', kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 120, rows: 40, env: { PS1: PROMPT, TERM: 'dumb' },
  }, options);
  await client.waitOutput(PROMPT_RE);
  return client;
}

/** An exec session of `argv`; resolves after its hello. */
export function openExec(gw: GatewayUnderTest, token: string, argv: string[]): Promise<SgClient> {
  return openSession(gw, token, { type: 'open', kind: 'exec', argv });
}

export async function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits `ms` to OBSERVE that nothing happens meanwhile (a measurement period, never a synchronisation). */
export function observe(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** utime + stime of a process, clock ticks (proc(5) fields 14 and 15). */
export function cpuTicks(id: ProcessIdentity): number {
  const stat = fs.readFileSync(`/proc/${id.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The gateway's descendant process whose argv[0] ends with `name` (a sandboxed command seen from the host). */
export async function findSandboxProcess(gw: GatewayUnderTest, name: string, timeoutMs = 10_000): Promise<ProcessIdentity> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    for (const pid of descendantsOf(gw.pid)) {
      const [argv0] = argvOf(pid);
      const id = identify(pid);
      if (argv0 !== undefined && (argv0 === name || argv0.endsWith(`/${name}`)) && id !== undefined) return id;
    }
    if (performance.now() > deadline) throw new Error(`no process ${name} below pid ${gw.pid} within ${timeoutMs} ms`);
    await observe(20);
  }
}

/** The sandboxes of a gateway as seen from the host: its descendant processes and their sandgate cgroups. */
export interface Footprint {
  readonly processes: readonly ProcessIdentity[];
  readonly cgroups: readonly string[];
}

/** Every sandgate cgroup directory (`…/sandgate/sb-…`) of `pid` in the mounted hierarchies. */
function sandgateCgroupsOf(pid: number): string[] {
  try {
    return cgroupHierarchiesOf(pid)
      .map((h) => /^(.*\/sandgate\/sb-[^/]+)/.exec(h.dir)?.[1])
      .filter((dir): dir is string => dir !== undefined);
  } catch {
    return []; // the process is gone meanwhile
  }
}

/** The gateway's sandboxes now (take it while sessions run). */
export async function sandboxFootprint(gw: GatewayUnderTest): Promise<Footprint> {
  const pids = descendantsOf(gw.pid);
  const processes = pids.map((pid) => identify(pid)).filter((id): id is ProcessIdentity => id !== undefined);
  const cgroups = [...new Set(pids.flatMap((pid) => sandgateCgroupsOf(pid)))];
  return { processes, cgroups };
}

/** What is left of `before` now, plus any descendant of the gateway that exists now. */
export async function leftoversOf(gw: GatewayUnderTest, before: Footprint): Promise<Footprint> {
  const alive = before.processes.filter((id) => isAlive(id));
  const extra = descendantsOf(gw.pid)
    .map((pid) => identify(pid))
    .filter((id): id is ProcessIdentity => id !== undefined && !alive.some((a) => a.pid === id.pid));
  return { processes: [...alive, ...extra], cgroups: before.cgroups.filter((dir) => fs.existsSync(dir)) };
}
