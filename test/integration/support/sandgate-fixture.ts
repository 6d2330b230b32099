import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ExecutionContext } from 'ava';

import { CgroupCell } from './cgroup-cell.js';
import { errnoCode } from './errno-code.js';
import { hostMounts, processesWithMarker, type HostProcess } from './host-processes.js';
import { PtySession } from './pty-session.js';
import { SandgateProcess, type CliOutcome, type SpawnCommand } from './sandgate-process.js';

/** The repository root, from dist/test/integration/support/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI_PATH = path.join(REPO_ROOT, 'bin', 'sandgate.js');
export const LAUNCHER_PATH = path.join(REPO_ROOT, 'build', 'Release', 'sandgate-launcher');

/** sandgate's directory under its own cgroup, holding one `sb-*` cgroup per sandbox. */
const SANDGATE_TREE = 'sandgate';

/** Generous bounds for one sandboxed command on a loaded 2-core machine, ms. */
export const RUN_TIMEOUT_MS = 20_000;

/** What a run left behind on the host; every list is empty after a clean run. */
export interface Leftovers {
  /** Host processes whose argv carries one of this fixture's markers (the CLI's own included). */
  readonly processes: readonly HostProcess[];
  /**
   * Sandbox cgroups below the fixture's cell in any hierarchy: everything below
   * `<cell>/sandgate/` (the tree directory itself is sandgate's and may stay, empty).
   */
  readonly cgroups: readonly string[];
  /** Entries in the CLI's TMPDIR (os.tmpdir() of the CLI process). */
  readonly tmpEntries: readonly string[];
  /** Mounts added to or removed from the host's mount table since the fixture was made. */
  readonly mountsAdded: readonly string[];
  readonly mountsRemoved: readonly string[];
}

/**
 * Everything one test needs to run `sandgate run` as a user would, and to prove that the run
 * left nothing behind: a private cgroup cell (the CLI joins it before it starts), a private
 * TMPDIR for the CLI, a work directory for reports and bind sources, unique markers to find
 * the run's processes on the host. `dispose()` kills and removes all of it, pass or fail.
 */
export class SandgateFixture {
  readonly cell: CgroupCell;
  /** TMPDIR of the CLI: whatever sandgate puts in os.tmpdir() lands here. */
  readonly cliTmpDir: string;
  /** The test's own files (reports, bind sources); not the CLI's. */
  readonly workDir: string;
  private readonly mountsBefore: readonly string[];
  private readonly markers: string[] = [];
  private readonly processes: SandgateProcess[] = [];
  private readonly terminals: PtySession[] = [];
  private reports = 0;

  private constructor() {
    this.mountsBefore = hostMounts();
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgtest-work-'));
    this.cliTmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgtest-clitmp-'));
    this.cell = CgroupCell.create();
  }

  static create(): SandgateFixture {
    return new SandgateFixture();
  }

  /** A string unique to this test, to find its processes in the host's /proc. */
  marker(label = 'mark'): string {
    const marker = `sgmark-${label}-${crypto.randomBytes(6).toString('hex')}`;
    this.markers.push(marker);
    return marker;
  }

  /** A fresh path in the work directory for `--json-report`. */
  reportPath(): string {
    this.reports += 1;
    return path.join(this.workDir, `report-${this.reports}.json`);
  }

  /**
   * The command line that joins the cell in every hierarchy, then execs the CLI: the CLI
   * process is in the cell from its first instruction. It runs in the work directory, so
   * relative paths on its command line resolve there.
   */
  cliCommand(args: readonly string[]): SpawnCommand {
    const join = 'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "cell: cannot join $1" >&2; exit 99; }; shift; done; shift; exec "$@"';
    return {
      file: '/bin/sh',
      args: ['-c', join, 'sgtest-cell', ...this.cell.procsFiles, '--', process.execPath, CLI_PATH, ...args],
      env: { ...process.env, TMPDIR: this.cliTmpDir },
      cwd: this.workDir,
    };
  }

  /** Starts `sandgate <args>` on pipes. */
  start(args: readonly string[]): SandgateProcess {
    const cli = new SandgateProcess(this.cliCommand(args));
    this.processes.push(cli);
    return cli;
  }

  /** Runs `sandgate <args>` to the end, feeding `stdin` (then EOF). */
  async run(args: readonly string[], stdin: Buffer | string = '', timeoutMs = RUN_TIMEOUT_MS): Promise<CliOutcome> {
    const cli = this.start(args);
    cli.endStdin(stdin);
    return cli.finished(timeoutMs);
  }

  /** Starts `sandgate <args>` on a fresh host PTY of `cols` x `rows`. */
  startPty(args: readonly string[], size = { cols: 80, rows: 24 }): PtySession {
    const terminal = new PtySession(this.cliCommand(args), size);
    this.terminals.push(terminal);
    return terminal;
  }

  /** The host state the fixture's runs may have left, as of now. */
  leftovers(): Leftovers {
    const mountsNow = hostMounts();
    return {
      processes: this.markers.flatMap((marker) => processesWithMarker(marker)),
      cgroups: this.cell.descendants().filter((dir) => !this.cell.hierarchies.some((h) => dir === path.join(h.dir, SANDGATE_TREE))),
      tmpEntries: fs.readdirSync(this.cliTmpDir),
      mountsAdded: mountsNow.filter((line) => !this.mountsBefore.includes(line)),
      mountsRemoved: this.mountsBefore.filter((line) => !mountsNow.includes(line)),
    };
  }

  async dispose(): Promise<void> {
    for (const cli of this.processes) cli.kill('SIGKILL');
    for (const terminal of this.terminals) terminal.kill();
    for (const marker of this.markers) {
      for (const { pid } of processesWithMarker(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (error) {
          if (errnoCode(error) !== 'ESRCH') throw error; // ESRCH: gone since the scan
        }
      }
    }
    await this.cell.dispose();
    fs.rmSync(this.workDir, { recursive: true, force: true });
    fs.rmSync(this.cliTmpDir, { recursive: true, force: true });
  }
}

/** True when nothing at all was left behind. */
export function isClean(leftovers: Leftovers): boolean {
  return Object.values(leftovers).every((list: readonly unknown[]) => list.length === 0);
}

/** A fixture disposed when the test ends, whatever its outcome. */
export function fixtureFor(t: ExecutionContext): SandgateFixture {
  const fixture = SandgateFixture.create();
  t.teardown(() => fixture.dispose());
  return fixture;
}

/** The outcome of a run, for assertion messages. */
export function describeOutcome(outcome: CliOutcome): string {
  const text = (b: Buffer): string => JSON.stringify(b.subarray(0, 600).toString('utf8'));
  return `status ${outcome.status}, signal ${outcome.signal}, stdout ${text(outcome.stdout)}, stderr ${text(outcome.stderr)}`;
}
