import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import type { ExitFrame, ExitReason, ExitSignalName, ResourceUsage } from '../../client-sdk/src/protocol/index.js';
import { assertNever } from '../errors/assert-never.js';

/**
 * The lifecycle of one session as a pure state machine (STYLE.md rule 6): `transition(state,
 * event)` returns the next state and the actions for the session's shell to apply (kill the
 * process, start or cancel the grace timer, send exit, dispose). No clock, no I/O.
 *
 *   starting ──spawned──▶ running ──process-exited / output-ended──▶ exiting ──▶ ended
 *      │                    ▲  │                                      ▲  │
 *      │ spawn-failed       │  │ connection-lost / connection-resumed │  │ (attached ↔ detached
 *      ▼                    └──┘   (attached ↔ detached, any phase)   └──┘  in every live phase)
 *    ended                       grace-expired while detached ──▶ ended
 *
 * `exiting` waits for three facts: the process status, the end of its output (EOF on the PTY
 * or pipes: node-pty reports exit before the last bytes, and a daemon can keep the PTY open
 * after its parent exits), and every output byte sent on the current connection. Only then,
 * and only while a client is attached, `exit` goes out (docs/protocol.md: after the last
 * output byte; `exit.outputOffset` = total output). A drop while exiting keeps the session for
 * a resume, which sends the rest and then `exit`.
 *
 * Connections are numbered: the one that opened the session is 0, each resume takes the next
 * number. Events from a connection or a grace timer that is no longer current are stale
 * (a superseded socket closing late, a timer cancelled too late) and are ignored.
 */

/** Reasons the gateway ends a session on purpose (the rest of ExitReason come from the process). */
export type TerminateReason = Exclude<ExitReason, 'exited' | 'signaled'>;

/** How the process ended: exactly one of code and signal is set (the sandbox layer's report). */
export interface ProcessStatus {
  readonly code: number | null;
  readonly signal: ExitSignalName | null;
  readonly usage: ResourceUsage;
  /** What the sandbox layer knows better (e.g. memory-limit from the OOM event). */
  readonly reason?: ExitReason;
}

interface Live {
  /** Number of the current (or last) connection. */
  readonly connection: number;
  readonly attached: boolean;
  /** Set once the gateway decided to end the session; the first reason stays. */
  readonly terminating: TerminateReason | undefined;
}

export type SessionState =
  | (Live & { readonly phase: 'starting' })
  | (Live & { readonly phase: 'running' })
  | (Live & {
      readonly phase: 'exiting';
      readonly status: ProcessStatus | undefined;
      /** Total output, once the source has ended. */
      readonly outputEnd: number | undefined;
      /** Every byte up to outputEnd was sent on the current connection. */
      readonly drained: boolean;
    })
  | { readonly phase: 'ended'; readonly outcome: EndOutcome };

/** exit-delivered: the client got `exit`; spawn-failed: no process; abandoned: the grace ran out. */
export type EndOutcome = 'exit-delivered' | 'spawn-failed' | 'abandoned';

export type SessionEvent =
  | { readonly type: 'spawned' }
  | { readonly type: 'spawn-failed'; readonly code: ErrorCode; readonly message: string }
  | { readonly type: 'connection-lost'; readonly connection: number }
  | { readonly type: 'connection-resumed' }
  | { readonly type: 'terminate'; readonly reason: TerminateReason }
  | { readonly type: 'process-exited'; readonly status: ProcessStatus }
  | { readonly type: 'output-ended'; readonly outputOffset: number }
  | { readonly type: 'output-drained'; readonly connection: number }
  | { readonly type: 'grace-expired'; readonly connection: number };

export type SessionAction =
  /** Kill the whole sandbox (its process tree); its exit arrives later as process-exited. */
  | { readonly type: 'kill-process' }
  /** Start the resumeGraceMs timer; when it fires, report grace-expired with this connection. */
  | { readonly type: 'start-grace-timer'; readonly connection: number }
  | { readonly type: 'cancel-grace-timer' }
  /** Close that (older) connection with SG_RESUME_SUPERSEDED. */
  | { readonly type: 'close-superseded'; readonly connection: number }
  /** Send `frame` on the connection, then close it with 1000. */
  | { readonly type: 'send-exit'; readonly connection: number; readonly frame: ExitFrame }
  /** Send a fatal `error` frame on the connection, then close it with the code's close code. */
  | { readonly type: 'send-error'; readonly connection: number; readonly code: ErrorCode; readonly message: string }
  /** Release everything the session holds (session.dispose(), idempotent). */
  | { readonly type: 'dispose' };

export type Transition =
  | { readonly kind: 'next'; readonly state: SessionState; readonly actions: readonly SessionAction[] }
  /** A late or repeated event (a race, not a fault): nothing changes. */
  | { readonly kind: 'ignored'; readonly state: SessionState; readonly why: string }
  /** The event cannot happen in this state: a bug of the caller. */
  | { readonly kind: 'invalid'; readonly state: SessionState; readonly why: string };

export function initialSessionState(): SessionState {
  return { phase: 'starting', connection: 0, attached: true, terminating: undefined };
}

/** Whether a resume may attach now (check before spending the resume token). */
export function isResumable(state: SessionState): boolean {
  return state.phase === 'running' || state.phase === 'exiting';
}

export function transition(state: SessionState, event: SessionEvent): Transition {
  switch (state.phase) {
    case 'starting':
      return fromStarting(state, event);
    case 'running':
      return fromRunning(state, event);
    case 'exiting':
      return completeIfDone(fromExiting(state, event));
    case 'ended':
      return event.type === 'connection-resumed' ? invalid(state, 'the session has ended') : ignored(state, `${event.type} after the session ended`);
    default:
      return assertNever(state, 'session state');
  }
}

type Starting = Extract<SessionState, { phase: 'starting' }>;
type Running = Extract<SessionState, { phase: 'running' }>;
type Exiting = Extract<SessionState, { phase: 'exiting' }>;
type LiveState = Starting | Running | Exiting;

function fromStarting(state: Starting, event: SessionEvent): Transition {
  switch (event.type) {
    case 'spawned':
      // A terminate that came while spawning is applied now that there is a process.
      return next({ ...state, phase: 'running' }, state.terminating === undefined ? [] : [{ type: 'kill-process' }]);
    case 'spawn-failed': {
      const report: SessionAction[] = state.attached ? [{ type: 'send-error', connection: state.connection, code: event.code, message: event.message }] : [];
      return next({ phase: 'ended', outcome: 'spawn-failed' }, [...report, { type: 'dispose' }]);
    }
    case 'terminate':
      return state.terminating === undefined ? next({ ...state, terminating: event.reason }, []) : ignored(state, 'already terminating');
    case 'connection-lost':
    case 'grace-expired':
      return connectionEvent(state, event);
    case 'connection-resumed':
      return invalid(state, 'resume before the session sent its first hello');
    case 'process-exited':
    case 'output-ended':
    case 'output-drained':
      return invalid(state, `${event.type} before spawned`);
    default:
      return assertNever(event, 'session event');
  }
}

function fromRunning(state: Running, event: SessionEvent): Transition {
  switch (event.type) {
    case 'spawned':
    case 'spawn-failed':
      return invalid(state, `${event.type} after spawned`);
    case 'terminate':
      return state.terminating === undefined ? next({ ...state, terminating: event.reason }, [{ type: 'kill-process' }]) : ignored(state, 'already terminating');
    case 'connection-lost':
    case 'connection-resumed':
    case 'grace-expired':
      return connectionEvent(state, event);
    case 'process-exited':
      return statusProblem(state, event.status) ?? next({ ...exiting(state), status: event.status }, []);
    case 'output-ended':
      return offsetProblem(state, event.outputOffset) ?? next({ ...exiting(state), outputEnd: event.outputOffset }, []);
    case 'output-drained':
      return invalid(state, 'output-drained before output-ended');
    default:
      return assertNever(event, 'session event');
  }
}

function fromExiting(state: Exiting, event: SessionEvent): Transition {
  switch (event.type) {
    case 'spawned':
    case 'spawn-failed':
      return invalid(state, `${event.type} after spawned`);
    case 'terminate':
      // The output ended but the process lives on (it closed the PTY): it must still be killed.
      if (state.status !== undefined || state.terminating !== undefined) return ignored(state, 'the process has exited or is being killed');
      return next({ ...state, terminating: event.reason }, [{ type: 'kill-process' }]);
    case 'connection-lost':
    case 'connection-resumed':
    case 'grace-expired':
      return connectionEvent(state, event);
    case 'process-exited':
      if (state.status !== undefined) return invalid(state, 'process-exited twice');
      return statusProblem(state, event.status) ?? next({ ...state, status: event.status }, []);
    case 'output-ended':
      if (state.outputEnd !== undefined) return invalid(state, 'output-ended twice');
      return offsetProblem(state, event.outputOffset) ?? next({ ...state, outputEnd: event.outputOffset }, []);
    case 'output-drained':
      if (state.outputEnd === undefined) return invalid(state, 'output-drained before output-ended');
      if (event.connection !== state.connection) return ignored(state, `output-drained from connection ${event.connection}, now ${state.connection}`);
      return next({ ...state, drained: true }, []);
    default:
      return assertNever(event, 'session event');
  }
}

/** Attach, detach and grace expiry: the same rules in every live phase. */
function connectionEvent(
  state: LiveState,
  event: Extract<SessionEvent, { type: 'connection-lost' | 'connection-resumed' | 'grace-expired' }>,
): Transition {
  switch (event.type) {
    case 'connection-lost':
      if (!state.attached || event.connection !== state.connection) return ignored(state, `connection ${event.connection} is not the attached one`);
      return next({ ...state, attached: false }, [{ type: 'start-grace-timer', connection: state.connection }]);
    case 'connection-resumed': {
      const resumed = { ...state, attached: true, connection: state.connection + 1 };
      // A resume rewinds the output to what the client has: it is not drained any more.
      const after = resumed.phase === 'exiting' ? { ...resumed, drained: false } : resumed;
      const previous: SessionAction = state.attached ? { type: 'close-superseded', connection: state.connection } : { type: 'cancel-grace-timer' };
      return next(after, [previous]);
    }
    case 'grace-expired':
      if (state.attached || event.connection !== state.connection) return ignored(state, `stale grace timer of connection ${event.connection}`);
      return next({ phase: 'ended', outcome: 'abandoned' }, [{ type: 'dispose' }]);
    default:
      return assertNever(event, 'connection event');
  }
}

/** In exiting: with the status, the end of output, everything sent and a client there, send exit. */
function completeIfDone(result: Transition): Transition {
  const state = result.state;
  if (result.kind !== 'next' || state.phase !== 'exiting' || !state.drained || !state.attached) return result;
  const frame = exitFrameOf(state);
  if (frame === undefined) return result;
  return next({ phase: 'ended', outcome: 'exit-delivered' }, [...result.actions, { type: 'send-exit', connection: state.connection, frame }, { type: 'dispose' }]);
}

/**
 * The session's `exit` once the process status and the end of its output are both known,
 * whoever it goes to (the owner once drained; viewers, session-viewers.ts, after their last byte).
 */
export function exitFrameOf(state: SessionState): ExitFrame | undefined {
  if (state.phase !== 'exiting' || state.status === undefined || state.outputEnd === undefined) return undefined;
  return {
    type: 'exit',
    outputOffset: state.outputEnd,
    code: state.status.code,
    signal: state.status.signal,
    reason: exitReason(state.status, state.terminating),
    usage: state.status.usage,
  };
}

/** The sandbox layer's reason, else the gateway's, else what the status says. */
export function exitReason(status: ProcessStatus, terminating: TerminateReason | undefined): ExitReason {
  return status.reason ?? terminating ?? (status.signal !== null ? 'signaled' : 'exited');
}

function exiting(state: Running): Exiting {
  return { ...state, phase: 'exiting', status: undefined, outputEnd: undefined, drained: false };
}

/** Exactly one of code (0..255) and signal, and reason 'exited' only with a code (docs/protocol.md, exit). */
function statusProblem(state: SessionState, status: ProcessStatus): Transition | undefined {
  const exactlyOne = (status.code === null) !== (status.signal === null);
  const codeInRange = status.code === null || (Number.isInteger(status.code) && status.code >= 0 && status.code <= 255);
  const reasonFits = status.reason !== 'exited' || status.code !== null;
  return exactlyOne && codeInRange && reasonFits ? undefined : invalid(state, 'process status needs exactly one of code (0..255) and signal, and a code for reason exited');
}

function offsetProblem(state: SessionState, offset: number): Transition | undefined {
  return Number.isSafeInteger(offset) && offset >= 0 ? undefined : invalid(state, `output-ended at ${offset}, not an offset`);
}

function next(state: SessionState, actions: readonly SessionAction[]): Transition {
  return { kind: 'next', state, actions };
}

function ignored(state: SessionState, why: string): Transition {
  return { kind: 'ignored', state, why };
}

function invalid(state: SessionState, why: string): Transition {
  return { kind: 'invalid', state, why };
}
