import { assertNever } from './assert-never.js';
import { type AttachedFrame, type ClientFrame, type HelloFrame, type ServerFrame, type SessionKind } from './frames.js';
import { failure, type Failure } from './protocol-error.js';

/**
 * The order rules of the protocol as one pure reducer that both ends run over every frame of
 * a connection, sent or received: the server refuses a client frame that breaks them, and the
 * SDK refuses a server frame that does (or finds its own bug before sending). Each end's
 * counters are its own view (bytes sent or received); every rule holds on either view because
 * a sender is never behind its receiver.
 *
 *   start ──open/resume──▶ opening ──hello──▶ running ──exit──▶ exited
 *   start ──attach──▶ opening ──attached──▶ running (a viewer: it sends only ack) ──exit──▶ exited
 *     any phase ──error{fatal}──▶ closed
 *
 * Client frames that arrive after exit or a fatal error are accepted and marked `ignored`: the
 * client may have sent them before it read the end (a race, not a fault).
 */

export type ConversationPhase = 'start' | 'opening' | 'running' | 'exited' | 'closed';

export interface Conversation {
  readonly phase: ConversationPhase;
  /** What the first client frame asked for, to check the hello (or attached) that answers it. */
  readonly request: OpenRequest | ResumeRequest | AttachRequest | undefined;
  /** Known from attached on: this connection views the session and sends only acks. */
  readonly viewer: boolean;
  /** Known from hello on. */
  readonly kind: SessionKind | undefined;
  /** Output bytes through this end (sent, or received) = offset of the next output frame. */
  readonly outputOffset: number;
  readonly outputAcked: number;
  readonly outputWindowBytes: number;
  readonly stdinOffset: number;
  readonly stdinAcked: number;
  readonly stdinWindowBytes: number;
  readonly stdinClosed: boolean;
}

export interface OpenRequest {
  readonly kind: SessionKind;
}
export interface ResumeRequest {
  readonly sessionId: string;
  readonly outputOffset: number;
}
export interface AttachRequest {
  readonly attach: string;
}

export type Advance = { readonly ok: true; readonly state: Conversation; readonly ignored: boolean } | Failure;

export function startConversation(): Conversation {
  return {
    phase: 'start',
    request: undefined,
    viewer: false,
    kind: undefined,
    outputOffset: 0,
    outputAcked: 0,
    outputWindowBytes: 0,
    stdinOffset: 0,
    stdinAcked: 0,
    stdinWindowBytes: 0,
    stdinClosed: false,
  };
}

/**
 * `state` with `changes`, always built as the same literal: every state then has one hidden
 * class, and the reducer, which runs for every frame both ways, stays monomorphic (a spread
 * of states made in different places takes V8's slow clone path; measured with perf on the
 * gateway bench).
 */
function changed(state: Conversation, changes: Partial<Conversation>): Conversation {
  return {
    phase: changes.phase ?? state.phase,
    request: changes.request ?? state.request,
    viewer: changes.viewer ?? state.viewer,
    kind: changes.kind ?? state.kind,
    outputOffset: changes.outputOffset ?? state.outputOffset,
    outputAcked: changes.outputAcked ?? state.outputAcked,
    outputWindowBytes: changes.outputWindowBytes ?? state.outputWindowBytes,
    stdinOffset: changes.stdinOffset ?? state.stdinOffset,
    stdinAcked: changes.stdinAcked ?? state.stdinAcked,
    stdinWindowBytes: changes.stdinWindowBytes ?? state.stdinWindowBytes,
    stdinClosed: changes.stdinClosed ?? state.stdinClosed,
  };
}

/** Output bytes the server may send now without exceeding the client's window. */
export function outputCredit(state: Conversation): number {
  return state.phase === 'running' ? Math.max(0, state.outputAcked + state.outputWindowBytes - state.outputOffset) : 0;
}

/** Stdin bytes the client may send now without exceeding the server's window. */
export function stdinCredit(state: Conversation): number {
  return state.phase === 'running' && !state.stdinClosed ? Math.max(0, state.stdinAcked + state.stdinWindowBytes - state.stdinOffset) : 0;
}

/** The conversation after `frame`, or the registry code of the rule it breaks. */
export function advance(state: Conversation, frame: ClientFrame | ServerFrame): Advance {
  if (isClientFrame(frame)) {
    if (state.phase === 'exited' || state.phase === 'closed') return { ok: true, state, ignored: true };
    return advanced(advanceClient(state, frame));
  }
  return advanced(advanceServer(state, frame));
}

function advanceClient(state: Conversation, frame: ClientFrame): Conversation | Failure {
  if (frame.type === 'open' || frame.type === 'resume' || frame.type === 'attach') {
    if (state.phase !== 'start') return outOfOrder(`${frame.type} after the session started`);
    return changed(state, { phase: 'opening', request: requestOf(frame) });
  }
  if (state.phase !== 'running') return outOfOrder(`${frame.type} before hello (send open, resume or attach, then wait for hello or attached)`);
  if (state.viewer && frame.type !== 'ack') return failure('SG_VIEWER_READ_ONLY', `${frame.type} from a viewer: a connection that attached sends only ack`);
  switch (frame.type) {
    case 'resize':
      return state.kind === 'pty' ? state : outOfOrder('resize in an exec session (it has no terminal)');
    case 'signal':
      return state;
    case 'stdin': {
      if (state.stdinClosed) return outOfOrder('stdin after stdin-close');
      if (frame.offset !== state.stdinOffset) return outOfOrder(offsetMismatch('stdin', frame.offset, state.stdinOffset));
      const end = frame.offset + frame.data.byteLength;
      if (end > state.stdinAcked + state.stdinWindowBytes) {
        return failure('SG_FLOW_WINDOW_EXCEEDED', `stdin up to offset ${end} exceeds stdin-ack ${state.stdinAcked} + stdinWindowBytes ${state.stdinWindowBytes}`);
      }
      return changed(state, { stdinOffset: end });
    }
    case 'stdin-close':
      if (state.kind !== 'exec') return outOfOrder('stdin-close in a pty session (send byte 0x04, ^D, instead)');
      if (state.stdinClosed) return outOfOrder('stdin-close repeated');
      if (frame.offset !== state.stdinOffset) return outOfOrder(offsetMismatch('stdin-close', frame.offset, state.stdinOffset));
      return changed(state, { stdinClosed: true });
    case 'ack':
      if (frame.offset < state.outputAcked) return outOfOrder(`ack ${frame.offset} goes back from ${state.outputAcked}`);
      if (frame.offset > state.outputOffset) return outOfOrder(`ack ${frame.offset} is beyond the output offset ${state.outputOffset}`);
      return changed(state, { outputAcked: frame.offset });
    default:
      return assertNever(frame, 'client frame');
  }
}

function requestOf(frame: Extract<ClientFrame, { type: 'open' | 'resume' | 'attach' }>): OpenRequest | ResumeRequest | AttachRequest {
  switch (frame.type) {
    case 'open':
      return { kind: frame.kind };
    case 'resume':
      return { sessionId: frame.sessionId, outputOffset: frame.outputOffset };
    case 'attach':
      return { attach: frame.sessionId };
    default:
      return assertNever(frame, 'first frame');
  }
}

function advanceServer(state: Conversation, frame: ServerFrame): Conversation | Failure {
  if (frame.type === 'error') return frame.fatal ? changed(state, { phase: 'closed' }) : state;
  if (frame.type === 'hello') {
    return state.phase === 'opening' ? afterHello(state, frame) : outOfOrder('hello without a pending open or resume');
  }
  if (frame.type === 'attached') {
    return state.phase === 'opening' ? afterAttached(state, frame) : outOfOrder('attached without a pending attach');
  }
  if (state.phase !== 'running') return outOfOrder(`${frame.type} in phase ${state.phase}`);
  switch (frame.type) {
    case 'output': {
      if (frame.channel === 'stderr' && state.kind === 'pty') return outOfOrder('stderr output in a pty session');
      if (frame.offset !== state.outputOffset) return outOfOrder(offsetMismatch('output', frame.offset, state.outputOffset));
      const end = frame.offset + frame.data.byteLength;
      if (end > state.outputAcked + state.outputWindowBytes) {
        return failure('SG_FLOW_WINDOW_EXCEEDED', `output up to offset ${end} exceeds ack ${state.outputAcked} + outputWindowBytes ${state.outputWindowBytes}`);
      }
      const stdinAckProblem = stdinAckOutOfOrder('output.stdinAck', frame.stdinAck, state);
      if (stdinAckProblem !== undefined) return stdinAckProblem;
      return changed(state, { outputOffset: end, stdinAcked: frame.stdinAck });
    }
    case 'stdin-ack':
      return stdinAckOutOfOrder('stdin-ack', frame.offset, state) ?? changed(state, { stdinAcked: frame.offset });
    case 'notice':
      return state;
    case 'exit':
      if (frame.outputOffset !== state.outputOffset) {
        return outOfOrder(`exit at output offset ${frame.outputOffset} but ${state.outputOffset} bytes went through: exit must follow the last output byte`);
      }
      return changed(state, { phase: 'exited' });
    default:
      return assertNever(frame, 'server frame');
  }
}

/** A stdin acknowledgement (a stdin-ack, or the one an output frame carries) never goes back and never passes the stdin sent. */
function stdinAckOutOfOrder(what: string, offset: number, state: Conversation): Failure | undefined {
  if (offset < state.stdinAcked) return outOfOrder(`${what} ${offset} goes back from ${state.stdinAcked}`);
  if (offset > state.stdinOffset) return outOfOrder(`${what} ${offset} is beyond the stdin offset ${state.stdinOffset}`);
  return undefined;
}

function afterHello(state: Conversation, hello: HelloFrame): Conversation | Failure {
  const request = state.request;
  if (request !== undefined && 'attach' in request) return outOfOrder('hello does not answer attach (attached does)');
  if (request !== undefined && 'kind' in request) {
    if (hello.resumed || hello.kind !== request.kind) return outOfOrder(`hello (${hello.kind}, resumed ${hello.resumed}) does not answer open ${request.kind}`);
  } else if (request !== undefined) {
    if (!hello.resumed || hello.sessionId !== request.sessionId) return outOfOrder('hello does not answer the resume of this session');
    if (hello.outputOffset < request.outputOffset) {
      return outOfOrder(`hello resumes output at ${hello.outputOffset}, before the requested ${request.outputOffset}`);
    }
  }
  return changed(state, {
    phase: 'running',
    kind: hello.kind,
    outputOffset: hello.outputOffset,
    outputAcked: hello.outputOffset,
    outputWindowBytes: hello.limits.outputWindowBytes,
    stdinOffset: hello.stdinOffset,
    stdinAcked: hello.stdinOffset,
    stdinWindowBytes: hello.limits.stdinWindowBytes,
    stdinClosed: hello.stdinClosed,
  });
}

/** A viewer: output from the offset the server chose, no stdin (closed, offsets 0). */
function afterAttached(state: Conversation, attached: AttachedFrame): Conversation | Failure {
  const request = state.request;
  if (request !== undefined && !('attach' in request && request.attach === attached.sessionId)) return outOfOrder('attached does not answer an attach of this session');
  return changed(state, {
    phase: 'running',
    viewer: true,
    kind: attached.kind,
    outputOffset: attached.outputOffset,
    outputAcked: attached.outputOffset,
    outputWindowBytes: attached.limits.outputWindowBytes,
    stdinOffset: 0,
    stdinAcked: 0,
    stdinWindowBytes: 0,
    stdinClosed: true,
  });
}

function isClientFrame(frame: ClientFrame | ServerFrame): frame is ClientFrame {
  switch (frame.type) {
    case 'stdin':
    case 'ack':
    case 'open':
    case 'resume':
    case 'attach':
    case 'resize':
    case 'signal':
    case 'stdin-close':
      return true;
    default:
      return onlyServerFramesLeft(frame);
  }
}

/** Compile-time check: only server frames reach the default case, so a new client frame type must be listed there. */
function onlyServerFramesLeft(_frame: ServerFrame): false {
  return false;
}

/** Failures are the objects with `ok: false`; states have no `ok` at all. */
function advanced(next: Conversation | Failure): Advance {
  return (next as Partial<Failure>).ok === false ? (next as Failure) : { ok: true, state: next as Conversation, ignored: false };
}

function outOfOrder(message: string): Failure {
  return failure('SG_PROTO_OUT_OF_ORDER', message);
}

function offsetMismatch(what: string, got: number, expected: number): string {
  const kind = got < expected ? 'a repeat' : 'a gap';
  return `${what} at offset ${got}, expected ${expected} (${kind})`;
}
