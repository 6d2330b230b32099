import test from 'ava';
import {
  DEFAULT_SESSION_LIMITS,
  advance,
  outputCredit,
  startConversation,
  stdinCredit,
  type ClientFrame,
  type Conversation,
  type HelloFrame,
  type ServerFrame,
} from '../../../client-sdk/src/protocol/index.js';
import { RESUME_TOKEN, SESSION_ID } from './sample-frames.js';

const limits = { ...DEFAULT_SESSION_LIMITS, outputWindowBytes: 1024, stdinWindowBytes: 1024 };
const helloFor = (kind: 'pty' | 'exec', extra: Partial<HelloFrame> = {}): HelloFrame => ({
  type: 'hello',
  sessionId: SESSION_ID,
  resumeToken: RESUME_TOKEN,
  kind,
  resumed: false,
  outputOffset: 0,
  stdinOffset: 0,
  stdinClosed: false,
  limits,
  ...extra,
});
const bytes = (count: number): Uint8Array => new Uint8Array(count).fill(0x61);
const output = (offset: number, count: number, channel: 'stdout' | 'stderr' = 'stdout', stdinAck = 0): ServerFrame => ({ type: 'output', channel, offset, stdinAck, data: bytes(count) });
const stdin = (offset: number, count: number): ClientFrame => ({ type: 'stdin', offset, data: bytes(count) });

/** Runs frames in order; fails the test at the first refusal. */
function run(frames: ReadonlyArray<ClientFrame | ServerFrame>, from: Conversation = startConversation()): Conversation {
  let state = from;
  for (const frame of frames) {
    const next = advance(state, frame);
    if (!next.ok) throw new Error(`${frame.type} refused: ${next.error.code} ${next.error.message}`);
    state = next.state;
  }
  return state;
}

const running = (kind: 'pty' | 'exec'): Conversation =>
  run([kind === 'pty' ? { type: 'open', kind, cols: 80, rows: 24 } : { type: 'open', kind, argv: ['cat'] }, helloFor(kind)]);

function refusal(state: Conversation, frame: ClientFrame | ServerFrame): string | undefined {
  const next = advance(state, frame);
  return next.ok ? undefined : next.error.code;
}

test('a pty session: open, hello, output within the window, acks, resize, signal, exit', (t) => {
  const end = run(
    [output(0, 1000), { type: 'ack', offset: 1000 }, output(1000, 1000), { type: 'resize', cols: 100, rows: 30 }, { type: 'signal', signal: 'INT' }, { type: 'exit', outputOffset: 2000, code: 0, signal: null, reason: 'exited', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } }],
    running('pty'),
  );
  t.is(end.phase, 'exited');
  t.is(end.outputOffset, 2000);
});

test('an exec session: stdin within the window, stdin-ack, stdin-close at the last offset', (t) => {
  const end = run([stdin(0, 1024), { type: 'stdin-ack', offset: 1024 }, stdin(1024, 10), { type: 'stdin-close', offset: 1034 }], running('exec'));
  t.true(end.stdinClosed);
  t.is(stdinCredit(end), 0);
});

test('nothing but open or resume comes first, and nothing from the client before hello', (t) => {
  t.is(refusal(startConversation(), { type: 'resize', cols: 1, rows: 1 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(startConversation(), output(0, 1)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(startConversation(), helloFor('pty')), 'SG_PROTO_OUT_OF_ORDER');
  const opening = run([{ type: 'open', kind: 'pty', cols: 80, rows: 24 }]);
  t.is(refusal(opening, stdin(0, 1)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(opening, { type: 'open', kind: 'pty', cols: 80, rows: 24 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(running('pty'), { type: 'resume', sessionId: SESSION_ID, resumeToken: RESUME_TOKEN, outputOffset: 0 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(running('pty'), helloFor('pty')), 'SG_PROTO_OUT_OF_ORDER');
});

test('the hello must answer the request: same kind for open, same session and no earlier offset for resume', (t) => {
  const opening = run([{ type: 'open', kind: 'exec', argv: ['true'] }]);
  t.is(refusal(opening, helloFor('pty')), 'SG_PROTO_OUT_OF_ORDER');
  const resuming = run([{ type: 'resume', sessionId: SESSION_ID, resumeToken: RESUME_TOKEN, outputOffset: 500 }]);
  t.is(refusal(resuming, helloFor('pty')), 'SG_PROTO_OUT_OF_ORDER', 'resumed false');
  t.is(refusal(resuming, helloFor('pty', { resumed: true, outputOffset: 499 })), 'SG_PROTO_OUT_OF_ORDER', 'earlier than asked');
  t.is(refusal(resuming, helloFor('pty', { resumed: true, outputOffset: 500, sessionId: 'another_session' })), 'SG_PROTO_OUT_OF_ORDER');
  const resumed = run([helloFor('pty', { resumed: true, outputOffset: 800, stdinOffset: 7 })], resuming);
  t.like(resumed, { phase: 'running', outputOffset: 800, outputAcked: 800, stdinOffset: 7, stdinAcked: 7 });
  t.is(refusal(resumed, output(500, 1)), 'SG_PROTO_OUT_OF_ORDER', 'after a truncated resume output continues at 800');
});

test('output is refused on a gap or a repeat, and beyond the window', (t) => {
  const state = run([output(0, 10)], running('pty'));
  t.is(refusal(state, output(11, 1)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, output(0, 10)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(outputCredit(state), 1014);
  t.is(refusal(state, output(10, 1014)), undefined);
  t.is(refusal(state, output(10, 1015)), 'SG_FLOW_WINDOW_EXCEEDED');
});

test('stdin is refused on a gap or a repeat, beyond the window, and after stdin-close', (t) => {
  const state = run([stdin(0, 4)], running('exec'));
  t.is(refusal(state, stdin(5, 1)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, stdin(0, 4)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, stdin(4, 1021)), 'SG_FLOW_WINDOW_EXCEEDED');
  const closed = run([{ type: 'stdin-close', offset: 4 }], state);
  t.is(refusal(closed, stdin(4, 1)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(closed, { type: 'stdin-close', offset: 4 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, { type: 'stdin-close', offset: 3 }), 'SG_PROTO_OUT_OF_ORDER', 'EOF before bytes already sent');
});

test('acks move forward and never past what was sent, on both streams', (t) => {
  const state = run([output(0, 100), { type: 'ack', offset: 50 }, stdin(0, 10), { type: 'stdin-ack', offset: 5 }], running('exec'));
  t.is(refusal(state, { type: 'ack', offset: 49 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, { type: 'ack', offset: 101 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, { type: 'ack', offset: 50 }), undefined, 'a repeated ack is harmless');
  t.is(refusal(state, { type: 'stdin-ack', offset: 4 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, { type: 'stdin-ack', offset: 11 }), 'SG_PROTO_OUT_OF_ORDER');
});

test('every output frame carries the stdin acknowledgement: it opens the stdin window, never goes back, never passes the stdin sent', (t) => {
  const typed = run([stdin(0, 10)], running('pty'));
  const echoed = run([output(0, 3, 'stdout', 10)], typed);
  t.is(echoed.stdinAcked, 10);
  t.is(stdinCredit(echoed), stdinCredit(running('pty')), 'the echo gave the whole window back');
  t.is(refusal(echoed, output(3, 1, 'stdout', 10)), undefined, 'the same acknowledgement again is fine');
  t.is(refusal(echoed, output(3, 1, 'stdout', 9)), 'SG_PROTO_OUT_OF_ORDER', 'going back');
  t.is(refusal(typed, output(0, 1, 'stdout', 11)), 'SG_PROTO_OUT_OF_ORDER', 'beyond the stdin sent');
  t.is(refusal(echoed, { type: 'stdin-ack', offset: 9 }), 'SG_PROTO_OUT_OF_ORDER', 'a stdin-ack cannot go back past it either');
});

test('a pty session has no stderr and no stdin-close; an exec session has no resize', (t) => {
  t.is(refusal(running('pty'), output(0, 1, 'stderr')), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(running('pty'), { type: 'stdin-close', offset: 0 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(running('exec'), { type: 'resize', cols: 1, rows: 1 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(running('exec'), output(0, 1, 'stderr')), undefined);
});

test('exit must come after the last output byte, and ends the server side', (t) => {
  const state = run([output(0, 10)], running('pty'));
  const exit = (outputOffset: number): ServerFrame => ({ type: 'exit', outputOffset, code: 1, signal: null, reason: 'exited', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } });
  t.is(refusal(state, exit(9)), 'SG_PROTO_OUT_OF_ORDER');
  const exited = run([exit(10)], state);
  t.is(refusal(exited, output(10, 1)), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(exited, { type: 'notice', kind: 'shutting-down', graceMs: 0, message: '' }), 'SG_PROTO_OUT_OF_ORDER');
});

test('client frames racing the end are ignored, not refused', (t) => {
  const exited = run([{ type: 'exit', outputOffset: 0, code: 0, signal: null, reason: 'exited', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } }], running('pty'));
  t.like(advance(exited, { type: 'ack', offset: 999 }), { ok: true, ignored: true });
  const closed = run([{ type: 'error', code: 'SG_PROTO_MALFORMED', message: '', fatal: true }], running('pty'));
  t.like(advance(closed, stdin(0, 1)), { ok: true, ignored: true });
  t.is(closed.phase, 'closed');
});

test('a non-fatal error changes nothing; a fatal one is allowed in any phase', (t) => {
  const state = running('pty');
  t.like(advance(state, { type: 'error', code: 'SG_X', message: '', fatal: false }), { ok: true, state });
  t.like(advance(startConversation(), { type: 'error', code: 'SG_RESUME_REJECTED', message: '', fatal: true }), { ok: true, state: { phase: 'closed' } });
});

test('a resumed hello with stdin closed leaves no stdin credit', (t) => {
  const state = run([
    { type: 'resume', sessionId: SESSION_ID, resumeToken: RESUME_TOKEN, outputOffset: 0 },
    helloFor('exec', { resumed: true, stdinOffset: 3, stdinClosed: true }),
  ]);
  t.is(stdinCredit(state), 0);
  t.is(refusal(state, stdin(3, 1)), 'SG_PROTO_OUT_OF_ORDER');
});

test('a viewer: attach, attached from any offset, output within its window and acks; exit after its last byte', (t) => {
  const attached: ServerFrame = { type: 'attached', sessionId: SESSION_ID, kind: 'pty', outputOffset: 5000, limits };
  const state = run([{ type: 'attach', sessionId: SESSION_ID }, attached, output(5000, 1024), { type: 'ack', offset: 6024 }, output(6024, 10)]);
  t.like(state, { phase: 'running', viewer: true, outputOffset: 6034, outputAcked: 6024 });
  t.is(stdinCredit(state), 0, 'a viewer has no stdin to send');
  t.is(outputCredit(state), 1014);
  t.is(refusal(state, output(6034, 1015)), 'SG_FLOW_WINDOW_EXCEEDED');
  t.is(refusal(state, { type: 'exit', outputOffset: 6000, code: 0, signal: null, reason: 'exited', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } }), 'SG_PROTO_OUT_OF_ORDER');
  t.like(run([{ type: 'exit', outputOffset: 6034, code: 0, signal: null, reason: 'exited', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } }], state), { phase: 'exited' });
});

test('a viewer may only ack: stdin, resize, signal and stdin-close are SG_VIEWER_READ_ONLY; stdin acknowledgements stay at 0', (t) => {
  const state = run([{ type: 'attach', sessionId: SESSION_ID, outputOffset: 0 }, { type: 'attached', sessionId: SESSION_ID, kind: 'exec', outputOffset: 0, limits }]);
  for (const frame of [stdin(0, 1), { type: 'resize', cols: 80, rows: 24 }, { type: 'signal', signal: 'INT' }, { type: 'stdin-close', offset: 0 }] satisfies ClientFrame[]) {
    t.is(refusal(state, frame), 'SG_VIEWER_READ_ONLY', frame.type);
  }
  t.is(refusal(state, { type: 'stdin-ack', offset: 1 }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(state, output(0, 1, 'stdout', 1)), 'SG_PROTO_OUT_OF_ORDER');
});

test('attached answers only an attach of the same session, and hello never answers an attach', (t) => {
  const attaching = run([{ type: 'attach', sessionId: SESSION_ID }]);
  t.is(refusal(attaching, helloFor('pty')), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(attaching, { type: 'attached', sessionId: 'another-session', kind: 'pty', outputOffset: 0, limits }), 'SG_PROTO_OUT_OF_ORDER');
  const opening = run([{ type: 'open', kind: 'pty', cols: 80, rows: 24 }]);
  t.is(refusal(opening, { type: 'attached', sessionId: SESSION_ID, kind: 'pty', outputOffset: 0, limits }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(startConversation(), { type: 'attached', sessionId: SESSION_ID, kind: 'pty', outputOffset: 0, limits }), 'SG_PROTO_OUT_OF_ORDER');
  t.is(refusal(run([{ type: 'attach', sessionId: SESSION_ID }, { type: 'attached', sessionId: SESSION_ID, kind: 'pty', outputOffset: 0, limits }]), { type: 'attach', sessionId: SESSION_ID }), 'SG_PROTO_OUT_OF_ORDER');
});
