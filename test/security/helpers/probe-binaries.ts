import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, from dist/test/security/helpers/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The C sources stay in the source tree (tsc does not copy them to dist). */
export const PROBE_SOURCES = path.join(REPO_ROOT, 'test', 'security', 'probes');
/** Where the probe directory is bound (read-only) inside every sandbox of the suite. */
export const PROBE_DIR_INSIDE = '/opt/sg-probe';
/** The multi-command probe, as seen inside the sandbox. */
export const SG_PROBE = `${PROBE_DIR_INSIDE}/sg-probe`;

/** Bound on one gcc run, ms: a static link of the probes takes about a second here. */
const COMPILE_TIMEOUT_MS = 60_000;

/**
 * The compiled probes of one test file, in a private temp directory (mode 0755, so the
 * sandbox's leased host uid can read it through the bind), removed by `remove()`.
 */
export interface ProbeBinaries {
  /** Host directory bound at PROBE_DIR_INSIDE. */
  readonly dir: string;
  /** Host path of sg-probe. */
  readonly probe: string;
  /** Host path of sg-privs (credentials report only; the base of the setuid/file-cap copies). */
  readonly privs: string;
  /** Host path of sg-host-ipc (run on the host, never inside). */
  readonly hostIpc: string;
  /** Host path of sg-host-aio: one io_setup on the host, prints "AIO OK" or "AIO <errno>". */
  readonly hostAio: string;
  remove(): Promise<void>;
}

async function compile(output: string, sources: readonly string[]): Promise<void> {
  const args = ['-O1', '-static', '-pthread', '-Wall', '-Wextra', '-Werror', '-o', output, ...sources.map((s) => path.join(PROBE_SOURCES, s))];
  try {
    await run('gcc', args, { timeout: COMPILE_TIMEOUT_MS });
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`compiling ${path.basename(output)} failed: gcc ${args.join(' ')}\n${stderr}`, { cause: error });
  }
  await fs.chmod(output, 0o755);
}

/** Compiles sg-probe, sg-privs and the host helpers with gcc -static into a fresh temp directory. */
export async function buildProbeBinaries(): Promise<ProbeBinaries> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sg-security-probes-'));
  try {
    await fs.chmod(dir, 0o755);
    const names = await fs.readdir(PROBE_SOURCES);
    const probeSources = ['sg-probe.c', 'report.c', ...names.filter((n) => n.startsWith('probe-') && n.endsWith('.c')).sort()];
    const binaries: ProbeBinaries = {
      dir,
      probe: path.join(dir, 'sg-probe'),
      privs: path.join(dir, 'sg-privs'),
      hostIpc: path.join(dir, 'sg-host-ipc'),
      hostAio: path.join(dir, 'sg-host-aio'),
      remove: () => fs.rm(dir, { recursive: true, force: true }),
    };
    await Promise.all([
      compile(binaries.probe, probeSources),
      compile(binaries.privs, ['sg-privs.c', 'report.c', 'probe-kernel.c']),
      compile(binaries.hostIpc, ['sg-host-ipc.c']),
      compile(binaries.hostAio, ['sg-host-aio.c']),
    ]);
    return binaries;
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
}
