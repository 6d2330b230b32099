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

/** Binaries a test file may need besides sg-probe, compiled only by the files that ask. */
export type ExtraBinary = 'sg-privs' | 'sg-host-ipc' | 'sg-host-aio';

const EXTRA_SOURCES: Readonly<Record<ExtraBinary, readonly string[]>> = {
  // Credentials report only: the base of the setuid-root and file-capability copies.
  'sg-privs': ['sg-privs.c', 'report.c', 'probe-kernel.c'],
  // Run on the host, never inside: holds SysV objects and a POSIX queue.
  'sg-host-ipc': ['sg-host-ipc.c'],
  // Run on the host: one io_setup, prints "AIO OK" or "AIO <errno>".
  'sg-host-aio': ['sg-host-aio.c'],
};

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

/**
 * The compiled probes of one test file, in a private temp directory (mode 0755, so the
 * sandbox's leased host uid can read it through the bind), removed by `remove()`: sg-probe,
 * and the extra binaries the file asked for.
 */
export class ProbeBinaries {
  /** Host path of sg-probe. */
  readonly probe: string;

  private constructor(
    /** Host directory bound at PROBE_DIR_INSIDE. */
    readonly dir: string,
    private readonly extras: ReadonlySet<ExtraBinary>,
  ) {
    this.probe = path.join(dir, 'sg-probe');
  }

  /** Compiles sg-probe and `extras` with gcc -static, in parallel, into a fresh temp directory. */
  static async build(extras: readonly ExtraBinary[]): Promise<ProbeBinaries> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sg-security-probes-'));
    try {
      await fs.chmod(dir, 0o755);
      const names = await fs.readdir(PROBE_SOURCES);
      const probeSources = ['sg-probe.c', 'report.c', ...names.filter((n) => n.startsWith('probe-') && n.endsWith('.c')).sort()];
      const binaries = new ProbeBinaries(dir, new Set(extras));
      await Promise.all([
        compile(binaries.probe, probeSources),
        ...[...binaries.extras].map((name) => compile(path.join(dir, name), EXTRA_SOURCES[name])),
      ]);
      return binaries;
    } catch (error) {
      await fs.rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Host path of sg-privs (credentials report only; the base of the setuid/file-cap copies). */
  get privs(): string {
    return this.extra('sg-privs');
  }

  /** Host path of sg-host-ipc (run on the host, never inside). */
  get hostIpc(): string {
    return this.extra('sg-host-ipc');
  }

  /** Host path of sg-host-aio: one io_setup on the host, prints "AIO OK" or "AIO <errno>". */
  get hostAio(): string {
    return this.extra('sg-host-aio');
  }

  remove(): Promise<void> {
    return fs.rm(this.dir, { recursive: true, force: true });
  }

  private extra(name: ExtraBinary): string {
    if (!this.extras.has(name)) throw new Error(`${name} was not built: name it in securitySuite(test, { extras: [...] })`);
    return path.join(this.dir, name);
  }
}
