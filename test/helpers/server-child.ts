import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/**
 * A server started as a child process for measurements from outside: its readiness is a line
 * it prints (matched by a pattern, bounded by a timeout), its memory is VmRSS from
 * /proc/<pid>/status, and stop() ends exactly that process (SIGTERM, then SIGKILL after a
 * grace), by its pid. Output is kept (bounded) for failure messages.
 */

export interface ServerChild {
  readonly pid: number;
  /** The first capture group of the ready pattern. */
  readonly ready: string;
  rssBytes(): number;
  /** The last lines the child wrote, for error messages. */
  tail(): string;
  /** SIGTERM, waits up to graceMs for the exit, then SIGKILL. Resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 8192;

export function vmRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

export async function startServerChild(
  file: string,
  args: readonly string[],
  ready: RegExp,
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string; readonly timeoutMs?: number } = {},
): Promise<ServerChild> {
  const child: ChildProcess = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd ?? process.cwd() });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${file} did not start`);
  const found = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} printed nothing matching ${ready} within ${options.timeoutMs ?? 20_000} ms: ${output.slice(-2000)}`)), options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-TAIL_BYTES);
      const match = ready.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] ?? match[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code ?? signal}) before it was ready: ${output.slice(-2000)}`));
    });
  });
  // Keep draining its output so that it never blocks on a full pipe.
  child.stdout?.on('data', (chunk: Buffer) => void (output = (output + chunk.toString('utf8')).slice(-TAIL_BYTES)));
  child.stderr?.on('data', (chunk: Buffer) => void (output = (output + chunk.toString('utf8')).slice(-TAIL_BYTES)));
  let stopping: Promise<void> | undefined;
  return {
    pid,
    ready: found,
    rssBytes: () => vmRssBytes(pid),
    tail: () => output,
    stop: (graceMs = 5000) => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), graceMs);
        });
        const outcome = await Promise.race([exited.then(() => 'exited' as const), grace]);
        clearTimeout(timer);
        if (outcome === 'late') {
          child.kill('SIGKILL');
          await exited;
        }
      })();
      return stopping;
    },
  };
}
