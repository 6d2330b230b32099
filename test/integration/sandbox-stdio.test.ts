/**
 * Behaviour: without --tty, the command's stdin, stdout and stderr are the CLI's own, byte for
 * byte: no transcoding, no line discipline, no interleaving of the two output streams, and the
 * end of the CLI's stdin is the end of the command's.
 */
import crypto from 'node:crypto';

import test from 'ava';

import { describeOutcome, fixtureFor } from './support/sandgate-fixture.js';

const EIGHT_MIB = 8 * 1024 * 1024;

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

test('8 MiB of random bytes pass through cat on stdin and stdout unchanged', async (t) => {
  const fixture = fixtureFor(t);
  const input = crypto.randomBytes(EIGHT_MIB);
  const outcome = await fixture.run(['run', '--', 'cat'], input);
  t.is(outcome.status, 0, describeOutcome(outcome));
  t.is(outcome.stdout.length, input.length);
  t.is(sha256(outcome.stdout), sha256(input));
  t.is(outcome.stderr.length, 0);
});

test('8 MiB of random bytes written to stderr arrive unchanged on stderr, none on stdout', async (t) => {
  const fixture = fixtureFor(t);
  const input = crypto.randomBytes(EIGHT_MIB);
  const outcome = await fixture.run(['run', '--', '/bin/sh', '-c', 'cat >&2'], input);
  t.is(outcome.status, 0, describeOutcome(outcome));
  t.is(outcome.stderr.length, input.length);
  t.is(sha256(outcome.stderr), sha256(input));
  t.is(outcome.stdout.length, 0);
});

test('stdout and stderr stay separate and exact', async (t) => {
  const fixture = fixtureFor(t);
  const outcome = await fixture.run(['run', '--', '/bin/sh', '-c', 'echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2']);
  t.is(outcome.status, 0, describeOutcome(outcome));
  t.is(outcome.stdout.toString('utf8'), 'out-1\nout-2\n');
  t.is(outcome.stderr.toString('utf8'), 'err-1\nerr-2\n');
});

test('the end of stdin reaches the command', async (t) => {
  const fixture = fixtureFor(t);
  // wc only prints once it has read EOF: a lost EOF shows as a timeout here.
  const outcome = await fixture.run(['run', '--', 'wc', '-c'], 'abc');
  t.is(outcome.status, 0, describeOutcome(outcome));
  t.is(outcome.stdout.toString('utf8').trim(), '3');
});

test('an empty stdin is an immediate EOF for the command', async (t) => {
  const fixture = fixtureFor(t);
  const outcome = await fixture.run(['run', '--', 'cat']);
  t.is(outcome.status, 0, describeOutcome(outcome));
  t.is(outcome.stdout.length, 0);
});
