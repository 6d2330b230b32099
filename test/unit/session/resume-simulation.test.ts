/**
 * End to end through the session layer's pure parts, with a simulated network: the output of
 * `seq 1 200000` (and an exec variant that interleaves stdout and stderr) goes through the
 * ring, the flow window, the protocol codec and conversation rules, across random drops and
 * resumes (resume tokens, state machine), and the client's reassembly must equal the
 * original: every byte exactly once, in order, on its channel, then `exit`.
 */
import test, { type ExecutionContext } from 'ava';
import {
  advance,
  decodeServerFrame,
  encodeServerFrame,
  startConversation,
  type ClientFrame,
  type Conversation,
  type OutputChannel,
  type ServerFrame,
  type SessionLimits,
} from '../../../client-sdk/src/protocol/index.js';
import { DEFAULT_SESSION_LIMITS } from '../../../client-sdk/src/protocol/index.js';
import * as flowWindow from '../../../server/session/flow-window.js';
import { OutputRing } from '../../../server/session/output-ring.js';
import { ResumeTokenStore } from '../../../server/session/resume-tokens.js';
import { requiredRingBytes } from '../../../server/session/session-limits.js';
import { initialSessionState, isResumable, transition, type SessionAction, type SessionEvent, type SessionState } from '../../../server/session/session-state.js';
import { propertySeeds, SeededRandom } from './seeded-random.js';

const SEQ_OUTPUT = new TextEncoder().encode(Array.from({ length: 200_000 }, (_, index) => `${index + 1}\n`).join(''));
const OWNER = { tenant: 'acme', user: 'alice', sessionId: 'sim-session-0001' };
const TICK_MS = 10;

interface Segment {
  readonly channel: OutputChannel;
  readonly bytes: Uint8Array;
}

/** The program's writes: one stdout segment (pty), or stdout/stderr segments at random (exec). */
function segmentsOf(random: SeededRandom, exec: boolean): Segment[] {
  if (!exec) return [{ channel: 'stdout', bytes: SEQ_OUTPUT }];
  const segments: Segment[] = [];
  for (let at = 0; at < SEQ_OUTPUT.byteLength; ) {
    const length = random.between(1, 5000);
    segments.push({ channel: random.chance(0.3) ? 'stderr' : 'stdout', bytes: SEQ_OUTPUT.subarray(at, at + length) });
    at += length;
  }
  return segments;
}

/** The client: the protocol's own rules on every frame, and the reassembled output per channel. */
class Client {
  conversation: Conversation = startConversation();
  received = 0;
  consumed = 0;
  token = '';
  exitOffset: number | undefined;
  readonly output: Record<OutputChannel, number[]> = { stdout: [], stderr: [] };

  send(frame: ClientFrame): ClientFrame {
    const next = advance(this.conversation, frame);
    if (!next.ok) throw new Error(`client sent ${frame.type} against the rules: ${next.error.message}`);
    this.conversation = next.state;
    return frame;
  }

  receive(message: string | Uint8Array, limits: SessionLimits): void {
    const decoded = decodeServerFrame(message, { limits });
    if (!decoded.ok) throw new Error(`undecodable frame: ${decoded.error.message}`);
    const frame = decoded.frame;
    const next = advance(this.conversation, frame);
    if (!next.ok) throw new Error(`server broke the protocol with ${frame.type}: ${next.error.message}`);
    this.conversation = next.state;
    if (frame.type === 'hello') {
      this.token = frame.resumeToken;
      if (frame.outputOffset !== this.received) throw new Error(`hello resumes at ${frame.outputOffset}, client has ${this.received}`);
    } else if (frame.type === 'output') {
      for (const byte of frame.data) this.output[frame.channel].push(byte);
      this.received += frame.data.byteLength;
    } else if (frame.type === 'exit') {
      this.exitOffset = frame.outputOffset;
    }
  }
}

interface Run {
  readonly drops: number;
  readonly pauses: number;
  readonly maxHeld: number;
}

function simulate(t: ExecutionContext, seed: number, exec: boolean): Run {
  const random = new SeededRandom(seed);
  const segments = segmentsOf(random, exec);
  const outputWindowBytes = random.between(1024, 256 * 1024);
  const sourceHighWaterBytes = random.between(1024, 64 * 1024);
  const flowLimits = { outputWindowBytes, sourceHighWaterBytes, sourceLowWaterBytes: random.between(0, sourceHighWaterBytes - 1) };
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, outputWindowBytes, maxDataFrameBytes: random.between(1024, 64 * 1024) };
  const clock = { now: 0 };
  const tokens = new ResumeTokenStore({ now: () => clock.now });
  const ring = new OutputRing({ capacityBytes: requiredRingBytes(outputWindowBytes, sourceHighWaterBytes) });
  let flow = flowWindow.createOutputFlow(flowLimits);
  let state: SessionState = initialSessionState();
  const toClient: Array<string | Uint8Array> = [];
  let toServer: ClientFrame[] = [];
  let client = new Client();
  let online = true;
  let reconnectAt = 0;
  let segmentIndex = 0;
  let segmentAt = 0;
  let sourceEnded = false;
  let exitReported = false;
  let spentToken: string | undefined;
  let ended = false;
  const run = { drops: 0, pauses: 0, maxHeld: 0 };

  const sendFrame = (frame: ServerFrame): void => {
    const encoded = encodeServerFrame(frame, limits);
    if (!encoded.ok) throw new Error(`server frame does not encode: ${encoded.error.message}`);
    toClient.push(encoded.payload);
  };
  const apply = (actions: readonly SessionAction[]): void => {
    for (const action of actions) {
      if (action.type === 'send-exit') sendFrame(action.frame);
      if (action.type === 'dispose') {
        tokens.revoke(OWNER.sessionId);
        ended = true;
      }
    }
  };
  const fire = (event: SessionEvent): void => {
    const result = transition(state, event);
    if (result.kind === 'invalid') throw new Error(`${event.type} invalid in ${state.phase}: ${result.why}`);
    state = result.state;
    if (result.kind === 'next') apply(result.actions);
  };
  const connection = (): number => (state.phase === 'ended' ? -1 : state.connection);

  // Open: the first connection's hello.
  client.send(exec ? { type: 'open', kind: 'exec', argv: ['seq', '1', '200000'] } : { type: 'open', kind: 'pty', cols: 80, rows: 24 });
  fire({ type: 'spawned' });
  const hello = (resumed: boolean, token: string): void =>
    sendFrame({ type: 'hello', sessionId: OWNER.sessionId, resumeToken: token, kind: exec ? 'exec' : 'pty', resumed, outputOffset: flow.sentOffset, stdinOffset: 0, stdinClosed: false, limits });
  hello(false, tokens.issue(OWNER, limits.resumeGraceMs));

  for (let tick = 0; !ended || toClient.length > 0; tick++) {
    if (tick > 2_000_000) throw new Error('the simulation does not finish');
    clock.now += TICK_MS;
    // 1. The source: one read unless paused, then the pause check in the same tick.
    if (!flow.sourcePaused && !sourceEnded) {
      const segment = segments[segmentIndex];
      if (segment === undefined) throw new Error('no segment left');
      const length = Math.min(random.between(1, random.chance(0.1) ? 65_536 : 4096), segment.bytes.byteLength - segmentAt);
      ring.append(segment.channel, segment.bytes.subarray(segmentAt, segmentAt + length));
      flow = flowWindow.onProduced(flow, length);
      segmentAt += length;
      if (segmentAt === segment.bytes.byteLength) [segmentIndex, segmentAt] = [segmentIndex + 1, 0];
      if (flowWindow.shouldPauseSource(flow)) [flow, run.pauses] = [flowWindow.withSourcePaused(flow, true), run.pauses + 1];
      if (segmentIndex === segments.length) {
        sourceEnded = true;
        fire({ type: 'output-ended', outputOffset: ring.endOffset });
      }
    }
    if (sourceEnded && !exitReported && random.chance(0.2)) {
      exitReported = true;
      fire({ type: 'process-exited', status: { code: 0, signal: null, usage: { cpuMs: 1, peakMemoryBytes: 1, wallMs: 1 } } });
    }
    run.maxHeld = Math.max(run.maxHeld, flow.producedOffset - flow.ackedOffset);
    // 2. The pump: send within the window, from the ring.
    if (online && !ended) {
      for (let n = flowWindow.nextFrameBytes(flow, limits.maxDataFrameBytes); n > 0; n = flowWindow.nextFrameBytes(flow, limits.maxDataFrameBytes)) {
        const read = ring.read(flow.sentOffset, n);
        if (read.kind !== 'data') throw new Error(`ring lost unsent output at ${flow.sentOffset}: ${read.kind}`);
        sendFrame({ type: 'output', channel: read.channel, offset: read.offset, stdinAck: 0, data: read.data });
        flow = flowWindow.onSent(flow, read.data.byteLength);
      }
      if (sourceEnded && flowWindow.isDrained(flow) && state.phase === 'exiting' && !state.drained) fire({ type: 'output-drained', connection: connection() });
    }
    // 3. The network: some frames arrive; the client consumes and acks now and then.
    for (let n = random.int(6); online && n > 0 && toClient.length > 0; n--) {
      const message = toClient.shift();
      if (message !== undefined) client.receive(message, limits);
    }
    if (online && client.conversation.phase === 'running' && client.received > client.consumed && random.chance(0.5)) {
      client.consumed = random.between(client.consumed + 1, client.received);
      toServer.push(client.send({ type: 'ack', offset: client.consumed }));
    }
    for (let n = random.int(3); online && n > 0 && toServer.length > 0; n--) {
      const frame = toServer.shift();
      if (frame?.type !== 'ack') continue;
      // A frame on the resumed connection: the client has the hello, the presented token is spent.
      tokens.confirm(OWNER.sessionId);
      if (spentToken !== undefined && tokens.redeem(spentToken, OWNER).ok) throw new Error('a spent resume token worked');
      spentToken = undefined;
      const acked = flowWindow.onAck(flow, frame.offset);
      if (!acked.ok) throw new Error(`the server refused a valid ack: ${acked.error.message}`);
      flow = acked.flow;
    }
    if (flowWindow.shouldResumeSource(flow)) flow = flowWindow.withSourcePaused(flow, false);
    // 4. Drops and resumes. Not before the client has its first token (it could never
    // resume: the session would be reaped after the grace period), nor once exit is on its
    // way (the session is gone).
    if (online && !ended && client.token !== '' && random.chance(0.05)) {
      online = false;
      run.drops += 1;
      toClient.length = 0;
      toServer = [];
      fire({ type: 'connection-lost', connection: connection() });
      tokens.detached(OWNER.sessionId);
      reconnectAt = clock.now + random.between(0, limits.resumeGraceMs / 2);
    } else if (!online && clock.now >= reconnectAt) {
      online = true;
      const previous = client;
      client = new Client();
      // The newest token this client saw: the previous connection may have lost its hello.
      client.token = previous.token;
      client.received = previous.received;
      client.consumed = previous.received;
      client.output.stdout = previous.output.stdout;
      client.output.stderr = previous.output.stderr;
      const resume = client.send({ type: 'resume', sessionId: OWNER.sessionId, resumeToken: client.token, outputOffset: client.received });
      if (resume.type !== 'resume' || !isResumable(state)) throw new Error(`session not resumable in ${state.phase}`);
      const redeemed = tokens.redeem(resume.resumeToken, OWNER);
      if (!redeemed.ok) throw new Error(`resume token refused: ${redeemed.error.message}`);
      const resumed = flowWindow.onResume(flow, resume.outputOffset, ring.startOffset);
      if (!resumed.ok || resumed.lostBytes !== 0) throw new Error(`resume at ${resume.outputOffset} lost output`);
      flow = resumed.flow;
      fire({ type: 'connection-resumed' });
      hello(true, redeemed.token);
      spentToken = resume.resumeToken;
    }
  }
  // The reassembly: per channel, exactly the bytes the program wrote, then exit at the total.
  for (const channel of ['stdout', 'stderr'] as const) {
    const expected = segments.filter((segment) => segment.channel === channel).flatMap((segment) => [...segment.bytes]);
    t.true(Buffer.from(client.output[channel]).equals(Buffer.from(expected)), `${channel} reassembled exactly`);
  }
  t.is(client.exitOffset, SEQ_OUTPUT.byteLength);
  t.is(client.received, SEQ_OUTPUT.byteLength);
  t.is(tokens.size, 0, 'the token is revoked when the session ends');
  t.true(run.maxHeld <= ring.capacityBytes, `retained ${run.maxHeld} bytes, ring ${ring.capacityBytes}`);
  return run;
}

for (const seed of propertySeeds(3)) {
  for (const exec of [false, true]) {
    test(`seq 1 200000 (${exec ? 'exec, stdout+stderr' : 'pty'}, seed ${seed}) survives random drops: every byte once, in order`, (t) => {
      const run = simulate(t, seed, exec);
      t.true(run.drops >= 5, `only ${run.drops} drops`);
      t.true(run.pauses >= 1, 'the source was paused at least once');
      t.log(`${run.drops} drops, ${run.pauses} pauses, at most ${run.maxHeld} bytes retained`);
    });
  }
}

test('a client that does not come back within the grace period loses the session and its token', (t) => {
  const clock = { now: 0 };
  const tokens = new ResumeTokenStore({ now: () => clock.now });
  const token = tokens.issue(OWNER, 1000);
  let state: SessionState = transition(initialSessionState(), { type: 'spawned' }).state;
  const lost = transition(state, { type: 'connection-lost', connection: 0 });
  state = lost.state;
  tokens.detached(OWNER.sessionId);
  t.true(lost.kind === 'next' && lost.actions.some((action) => action.type === 'start-grace-timer'));
  clock.now += 1000;
  const expired = transition(state, { type: 'grace-expired', connection: 0 });
  t.deepEqual(expired.state, { phase: 'ended', outcome: 'abandoned' });
  t.false(isResumable(expired.state));
  t.is(tokens.redeem(token, OWNER).ok, false);
});
