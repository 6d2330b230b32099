import { spawn } from 'node:child_process';
import crypto from 'node:crypto';

/** SysV objects and a POSIX queue held on the host by sg-host-ipc until `release()`. */
export interface HostIpc {
  readonly key: number;
  readonly shmId: number;
  readonly msgId: number;
  readonly semId: number;
  /** POSIX message queue name (`/sgsec-…`). */
  readonly mqName: string;
  /** Ends sg-host-ipc's stdin: it removes all four objects and exits; resolves at its exit. */
  release(): Promise<void>;
}

const READY = /^IPC shm=(\d+) msg=(\d+) sem=(\d+)$/m;
/** Bound on sg-host-ipc's start and exit, ms. */
const HOST_IPC_TIMEOUT_MS = 10_000;

/** Starts sg-host-ipc (on the host) with a random key and queue name; resolves once it holds them. */
export async function holdHostIpc(hostIpcBinary: string): Promise<HostIpc> {
  const key = crypto.randomInt(0x10000, 0x7fffffff);
  const mqName = `/sgsec-${crypto.randomBytes(6).toString('hex')}`;
  const child = spawn(hostIpcBinary, [String(key), mqName], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { stdin, stdout } = child;
  if (stdin === null || stdout === null) throw new Error('sg-host-ipc spawned without pipes');
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  let output = '';
  const ids = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sg-host-ipc not ready within ${HOST_IPC_TIMEOUT_MS} ms: ${output}`)), HOST_IPC_TIMEOUT_MS);
    stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = READY.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      } else if (output.startsWith('ERROR')) {
        clearTimeout(timer);
        reject(new Error(`sg-host-ipc failed: ${output}`));
      }
    });
    void exited.then(() => reject(new Error(`sg-host-ipc exited early: ${output}`)));
  });
  return {
    key,
    shmId: Number(ids[1]),
    msgId: Number(ids[2]),
    semId: Number(ids[3]),
    mqName,
    release: async () => {
      stdin.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error('sg-host-ipc did not exit after release'));
          }, HOST_IPC_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
    },
  };
}
