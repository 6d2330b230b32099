/**
 * Behaviour: the last output bytes of a PTY sandbox survive its exit while its output is
 * paused (launcher-contract.md, "End of PTY output"). node-pty destroys the master 200 ms
 * after the launcher exits unless it has read EIO by then, so a PTY paused for flow control
 * used to lose what the kernel still held. Here `seq 1 200000` is read up to its last few KiB,
 * paused, and kept paused well past its end: the launcher, having written its report, must
 * still be there holding the terminal, and once reading resumes every byte arrives, the end
 * marker stripped, before the result settles with the command's real status.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { openCgroupDriver } from '../../server/sandbox/cgroup/cgroup-driver.js';
import type { SandboxResult } from '../../server/sandbox/sandbox-result.js';
import { SandboxRunner } from '../../server/sandbox/sandbox-runner.js';
import { parseSandboxSpec } from '../../server/sandbox/spec-validation.js';
import { waitUntil, within } from './support/wait-until.js';

const COUNT = 200_000;
/** `seq 1 200000` on a PTY: every \n becomes \r\n (onlcr). */
const PTY_TOTAL = 1_288_895 + COUNT;
/**
 * Pause once this few bytes are left: less than the kernel's PTY buffer holds (about 20 KiB
 * here), so seq can finish writing, and exit, while nobody reads.
 */
const PAUSE_BEFORE_END_BYTES = 12_000;
/** Paused this long after the launcher wrote its report: well past node-pty's 200 ms. */
const HOLD_MS = 500;
const RUNS = 4;
const TIMEOUT_MS = 30_000;

function expectedText(): string {
  const lines: string[] = [];
  for (let n = 1; n <= COUNT; n += 1) lines.push(String(n));
  return `${lines.join('\n')}\n`;
}

/** A runner with a private cgroup tree and report directory, both removed after the test. */
async function bench(t: ExecutionContext): Promise<{ runner: SandboxRunner; reportDir: string }> {
  const reportDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sgtest-tail-'));
  const cgroupDriver = await openCgroupDriver({ treeName: `sandgate-test-${randomBytes(4).toString('hex')}` });
  t.teardown(async () => {
    for (const tree of cgroupDriver.treeDirs) await fs.rmdir(tree).catch(() => undefined); // gone with its last sandbox
    await fs.rm(reportDir, { recursive: true, force: true });
  });
  return { runner: await SandboxRunner.open({ cgroupDriver, reportDir }), reportDir };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('every output byte of a PTY command that exits while its output is paused arrives before the result', async (t) => {
  const { runner, reportDir } = await bench(t);
  const expected = expectedText();
  const held: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const sandbox = await runner.spawnPty(parseSandboxSpec({ argv: ['seq', '1', String(COUNT)] }));
    const chunks: Buffer[] = [];
    let received = 0;
    let heldAtPause: number | undefined;
    sandbox.onData((data) => {
      chunks.push(Buffer.from(data));
      received += data.byteLength;
      if (heldAtPause === undefined && received >= PTY_TOTAL - PAUSE_BEFORE_END_BYTES) {
        heldAtPause = PTY_TOTAL - received;
        sandbox.pause();
      }
    });
    let settled: { result: SandboxResult; receivedThen: number } | undefined;
    const result = sandbox.result.then((value) => {
      settled = { result: value, receivedThen: received };
      return value;
    });

    // The launcher writes its report once init was reaped, i.e. once seq has exited and every
    // byte it wrote is in the terminal; then it writes the end marker and waits. seq can end
    // while the reader is still short of its pause point (the terminal holds more than
    // PAUSE_BEFORE_END_BYTES), so the wait is for both: the command ended, and reading paused.
    await waitUntil('the launcher report (the command has ended) and the pause', async () => {
      const names = await fs.readdir(reportDir);
      const report = names.find((name) => name.endsWith('.json'));
      return report !== undefined && heldAtPause !== undefined ? { done: true, value: report } : { done: false, state: `${received} B received, paused ${heldAtPause !== undefined}, files ${names.join(' ')}` };
    }, { timeoutMs: TIMEOUT_MS, intervalMs: 5 });
    t.not(heldAtPause, undefined, 'paused before the end');
    // Held, not waited on: node-pty would have destroyed the master after 200 ms of this.
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    t.is(settled, undefined, 'no result while the tail is unread');
    t.true(isAlive(sandbox.pid), 'the launcher is still there, holding the terminal');
    t.is(received, PTY_TOTAL - (heldAtPause ?? 0), 'nothing was read while paused');

    sandbox.resume();
    const end = await within('the result', TIMEOUT_MS, result);
    t.like(end, { reason: 'exit', exitCode: 0, status: 0, signal: null });
    t.is(settled?.receivedThen, PTY_TOTAL, 'every byte arrived before the result');
    const output = Buffer.concat(chunks).toString('latin1');
    t.is(output.length, PTY_TOTAL);
    t.true(output.replaceAll('\r\n', '\n') === expected, 'the output is exactly seq\'s, marker stripped');
    t.deepEqual(await fs.readdir(reportDir), [], 'the report is removed');
    held.push(heldAtPause ?? 0);
  }
  t.log(`bytes still in the kernel at the pause, per run: ${held.join(' ')}`);
  t.true(held.every((bytes) => bytes > 0), 'every run left bytes in the kernel while paused');
});
