import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { TestFn } from 'ava';

import { killPids, processesWithMarker } from './host-processes.js';
import { ProbeBinaries, SG_PROBE, type ExtraBinary } from './probe-binaries.js';
import { PtySandbox } from './pty-sandbox.js';
import { RunningSandbox, type RunPaths, type SandboxOptions, type SandboxRun } from './run-in-sandbox.js';

type Cleanup = () => void | Promise<void>;

/**
 * One security test file's shared state: the probes compiled once (before), a work directory
 * for reports, and everything the file's tests started, killed and removed by the after hook
 * whatever the outcome — sandboxes (CLI pids), host processes carrying the file's markers,
 * listeners and IPC objects registered with `onCleanup`.
 */
export class SecuritySuite {
  private built: ProbeBinaries | undefined;
  private workDir: string | undefined;
  private reports = 0;
  private readonly running = new Set<{ kill(): void }>();
  private readonly markers: string[] = [];
  private readonly cleanups: Cleanup[] = [];

  constructor(test: TestFn, extras: readonly ExtraBinary[]) {
    test.before(async () => {
      this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-security-work-'));
      this.built = await ProbeBinaries.build(extras);
    });
    test.after.always(async () => {
      for (const sandbox of this.running) sandbox.kill();
      for (const cleanup of this.cleanups.reverse()) await cleanup();
      for (const marker of this.markers) killPids(processesWithMarker(marker));
      await this.built?.remove();
      if (this.workDir !== undefined) fs.rmSync(this.workDir, { recursive: true, force: true });
    });
  }

  get binaries(): ProbeBinaries {
    if (this.built === undefined) throw new Error('the probes are built in test.before');
    return this.built;
  }

  /** A string unique to this run, for argv markers and object names; its processes are killed at the end. */
  marker(label: string): string {
    const marker = `sgsec-${label}-${crypto.randomBytes(6).toString('hex')}`;
    this.markers.push(marker);
    return marker;
  }

  /** Registers host-side cleanup (listeners, IPC holders, files), run by the after hook. */
  onCleanup(cleanup: Cleanup): void {
    this.cleanups.push(cleanup);
  }

  /** A fresh host path in the suite's work directory (for files the test creates). */
  workPath(name: string): string {
    if (this.workDir === undefined) throw new Error('the work directory is made in test.before');
    return path.join(this.workDir, name);
  }

  /** Runs `argv` in a fresh sandbox to the end. */
  async run(argv: readonly string[], options: SandboxOptions = {}): Promise<SandboxRun> {
    const sandbox = this.start(argv, options);
    if (options.stdin !== undefined) sandbox.write(options.stdin);
    sandbox.endStdin();
    try {
      return await sandbox.result;
    } finally {
      this.running.delete(sandbox);
    }
  }

  /** Runs `sg-probe <name> <args>` in a fresh sandbox to the end. */
  probe(name: string, args: readonly string[] = [], options: SandboxOptions = {}): Promise<SandboxRun> {
    return this.run([SG_PROBE, name, ...args], options);
  }

  /** Starts `argv` in a fresh sandbox on pipes; the test talks to it, the suite kills it if left. */
  start(argv: readonly string[], options: SandboxOptions = {}): RunningSandbox {
    const sandbox = new RunningSandbox(argv, options, this.paths(options));
    this.running.add(sandbox);
    return sandbox;
  }

  startProbe(name: string, args: readonly string[] = [], options: SandboxOptions = {}): RunningSandbox {
    return this.start([SG_PROBE, name, ...args], options);
  }

  /** Starts `argv` on a fresh host PTY, with `--tty` unless `options.tty` is false. */
  startPty(argv: readonly string[], options: SandboxOptions = {}): PtySandbox {
    const sandbox = new PtySandbox(argv, options, this.paths(options));
    this.running.add(sandbox);
    return sandbox;
  }

  private paths(options: SandboxOptions): RunPaths {
    this.reports += 1;
    return { probeDir: this.binaries.dir, reportPath: options.jsonReport ?? this.workPath(`report-${this.reports}.json`) };
  }
}

/** What a test file needs besides sg-probe. */
export interface SuiteOptions {
  /** Extra binaries to compile in `before` (only the files that use one pay for it). */
  readonly extras?: readonly ExtraBinary[];
}

/** The suite of one test file: `const suite = securitySuite(test)` at the top of the file. */
export function securitySuite(test: TestFn, options: SuiteOptions = {}): SecuritySuite {
  return new SecuritySuite(test, options.extras ?? []);
}
