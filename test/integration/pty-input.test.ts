/**
 * PtyInput (server/sandbox/pty-input.ts) on a real PTY master from node-pty: the synchronous
 * keystroke path (writeNow) puts bytes into the terminal at once, yields to queued writes so
 * the order holds, reports a full terminal as 0 bytes taken, and counts dropped input as taken
 * once the input is closed. The program on the terminal is a plain host process: what is under
 * test is the master side, not the sandbox.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type IPty } from 'node-pty';

import { PtyInput, ptyMasterOf } from '../../server/sandbox/pty-input.js';

const WAIT_MS = 10_000;
const READY = 'sg-ready';

interface Terminal {
  readonly term: IPty;
  readonly input: PtyInput;
  /** Resolves once the output (all of it so far) contains `text`. */
  waitFor(text: string): Promise<string>;
  readonly exited: Promise<void>;
}

/** `command` in `sh -c` on a raw, echo-less terminal, started once it printed READY. */
async function terminal(t: ExecutionContext, command: string): Promise<Terminal> {
  const term = spawn('/bin/sh', ['-c', `stty raw -echo && printf ${READY} && ${command}`], { cols: 80, rows: 24, encoding: null, env: { PATH: '/usr/bin:/bin' } });
  const exited = new Promise<void>((resolve) => term.onExit(() => resolve()));
  t.teardown(async () => {
    term.kill('SIGKILL');
    await exited;
  });
  let output = '';
  const waiters = new Set<() => void>();
  term.onData((data: string | Buffer) => {
    output += typeof data === 'string' ? data : data.toString('latin1');
    for (const check of [...waiters]) check();
  });
  const waitFor = (text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" within ${WAIT_MS} ms; output: ${JSON.stringify(output.slice(-200))}`)), WAIT_MS);
      const check = (): void => {
        if (!output.includes(text)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(output);
      };
      waiters.add(check);
      check();
    });
  await waitFor(READY);
  return { term, input: new PtyInput(ptyMasterOf(term)), waitFor, exited };
}

test('writeNow puts a keystroke into the terminal synchronously, from the caller’s buffer', async (t) => {
  const { input, waitFor } = await terminal(t, 'exec head -c 5');
  t.is(input.writeNow(Buffer.from('hello')), 5, 'all five bytes taken at once');
  t.is(input.queuedBytes, 0);
  t.true((await waitFor(`${READY}hello`)).endsWith('hello'), 'the program read exactly those bytes');
});

test('a full terminal takes nothing more; queued writes keep their order and are dropped on close', async (t) => {
  const { input } = await terminal(t, 'exec sleep 60');
  const chunk = Buffer.alloc(4096, 0x61);
  let taken = 0;
  let refused = false;
  // The terminal's input queue and flip buffers hold some tens of KiB, and the tty worker may
  // move bytes from the flip buffers into the line discipline between two writes, making room
  // again: fill until a write is refused, then queue 'later'; if the kernel made room in
  // between and took it at once, fill again (bounded). What is asserted is the queue's order,
  // not the kernel worker's timing.
  // Only the attempt that stayed queued is watched: an earlier 'later' the kernel took at once
  // settles 'written' a tick afterwards.
  const attempts: { settled: string | undefined }[] = [];
  let queued: Promise<void> | undefined;
  for (let attempt = 0; attempt < 50 && queued === undefined; attempt += 1) {
    refused = false;
    for (let i = 0; i < 4096 && !refused; i += 1) {
      const count = input.writeNow(chunk);
      taken += count;
      refused = count === 0;
    }
    const outcome: { settled: string | undefined } = { settled: undefined };
    attempts.push(outcome);
    const later = input.write(Buffer.from('later')).then((result) => {
      outcome.settled = result;
    });
    if (input.queuedBytes > 0) queued = later;
  }
  const watched = attempts.at(-1);
  t.true(refused, 'the terminal refused more once full: writeNow took 0 bytes');
  t.true(taken > 0 && taken < 4 * 1024 * 1024, `the terminal took ${taken} bytes, then refused more`);
  if (queued === undefined) return t.fail('the terminal kept taking more than 50 fills');
  t.is(input.queuedBytes, 5);
  t.is(input.writeNow(Buffer.from('x')), 0, 'a queued write goes first: the synchronous path yields');
  await Promise.resolve();
  t.is(watched?.settled, undefined, 'the queued write waits while the program does not read');
  input.close();
  await queued;
  t.is(watched?.settled, 'dropped');
  t.is(input.writeNow(Buffer.from('gone')), 4, 'after close, input counts as taken (dropped), as a pipe without a reader');
});

test('input to a terminal whose program has exited is dropped, not an error', async (t) => {
  const { input, exited } = await terminal(t, 'exit 0');
  await exited;
  t.is(input.writeNow(Buffer.from('late')), 4);
  t.is(await input.write(Buffer.from('later')), 'dropped');
});
