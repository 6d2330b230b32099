/**
 * `resize` end to end (docs/protocol.md, "resize"): through a real gateway into a real
 * sandbox, the terminal size changes (TIOCSWINSZ, seen by `stty size`) and the foreground
 * program gets SIGWINCH; in an exec session, which has no terminal, the order rules refuse it.
 */
import test, { type ExecutionContext } from 'ava';

import { ERROR_CODES } from '../../../client-sdk/src/errors/error-codes.js';
import { startGatewayHarness, type GatewayHarness, type TestClient } from '../../helpers/gateway-harness.js';
import { within } from '../support/wait-until.js';

const SHELL = { kind: 'pty', argv: ['/bin/bash', '--norc', '--noprofile', '-i'], cols: 80, rows: 24, env: { PS1: 'sg$ ' } } as const;
const PROMPT = /sg\$ $/;

/** Runs `command` in the shell and resolves with the output line that `expected` matches. */
async function command(client: TestClient, line: string, expected: RegExp): Promise<RegExpExecArray> {
  const from = client.text().length;
  client.write(`${line}\r`);
  return client.waitFor(`${expected} after \`${line}\``, () => expected.exec(client.text().slice(from)) ?? undefined);
}

/** Waits until every session of the gateway is gone, then checks that no lease is left. */
async function released(t: ExecutionContext, gw: GatewayHarness): Promise<void> {
  await within('every session released', 15_000, gw.host.idle());
  t.deepEqual(await gw.store.counts({ tenant: 'acme', user: 'alice' }), { tenant: 0, user: 0 }, 'no lease is left');
}

test('a resize frame changes the terminal size in the sandbox: stty size reports it, and the foreground program gets SIGWINCH', async (t) => {
  const gw = await startGatewayHarness(t);
  const client = await gw.connect();
  await client.open(SHELL);
  await client.waitForOutput(PROMPT);
  t.is((await command(client, 'stty size', /[\r\n](\d+) (\d+)\r\n/))[0].trim(), '24 80', 'the size of the open frame');

  client.resize(132, 43);
  t.is((await command(client, 'stty size', /[\r\n](\d+) (\d+)\r\n/))[0].trim(), '43 132');

  // A program that waits for SIGWINCH (POSIX: a trapped signal ends `wait` at once) and then
  // prints the size it sees. The printed markers are computed, so the echo of the typed line
  // cannot match them.
  await command(client, `sh -c 'trap "echo winch-\\$(stty size)-seen; kill \\$!; exit 0" WINCH; sleep 30 & echo armed-$((2*3)); wait'`, /[\r\n]armed-6\r\n/);
  client.resize(100, 37);
  const seen = await client.waitForOutput(/winch-(\d+) (\d+)-seen/);
  t.deepEqual([seen[1], seen[2]], ['37', '100'], 'the trap ran on SIGWINCH and saw the new size');
  await client.waitForOutput(PROMPT);

  client.write('exit\r');
  t.like(await client.waitForExit(), { code: 0, reason: 'exited' });
  t.deepEqual(client.violations, [], 'every frame from the gateway keeps the protocol rules');
  t.deepEqual(client.frames.filter((frame) => frame.type === 'error'), [], 'no resize was refused');
  await released(t, gw);
});

test('a resize in an exec session is refused with a fatal SG_PROTO_OUT_OF_ORDER and its close code, and the session is released', async (t) => {
  // resumeGraceMs 0: the refused connection leaves nothing waiting for a resume.
  const gw = await startGatewayHarness(t, { config: { resumeGraceMs: 0 } });
  const client = await gw.connect();
  await client.open({ kind: 'exec', argv: ['sleep', '600'] });
  client.resize(100, 30);
  const error = await client.waitForFrame('error');
  t.like(error, { code: 'SG_PROTO_OUT_OF_ORDER', fatal: true });
  const close = await client.waitForClose();
  t.is(close.code, ERROR_CODES.SG_PROTO_OUT_OF_ORDER.wsCloseCode);
  t.is(close.errorCode, 'SG_PROTO_OUT_OF_ORDER');
  t.is(client.frames.find((frame) => frame.type === 'exit'), undefined, 'no exit: the connection was refused, not the command ended');
  t.deepEqual(client.violations, []);
  await released(t, gw);
});
