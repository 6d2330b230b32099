import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import type { AttachFrame, ClientFrame, QuotaWarningNotice, ResumeFrame, SessionKind, ShuttingDownNotice } from '../../client-sdk/src/protocol/index.js';
import { assertNever } from '../errors/assert-never.js';
import { isSandgateError } from '../errors/sandgate-error.js';
import { keepLeaseAlive, type LeaseKeeper } from '../quota/lease-keeper.js';
import type { SandboxResult } from '../sandbox/sandbox-result.js';
import { sessionEndOf } from './exit-status.js';
import { OutputPump, type OutputChunk } from './output-pump.js';
import type { SessionConnection } from './session-connection.js';
import { SessionError } from './session-error.js';
import { sessionNotFound, type SessionOwner } from './session-registry.js';
import type { SessionSource, SourceEvents } from './session-source.js';
import type { LiveSessionInit, SessionContext, SessionLabel } from './session-context.js';
import { SessionTimers } from './session-timers.js';
import { exitFrameOf, initialSessionState, isResumable, transition, type SessionAction, type SessionEvent, type SessionState } from './session-state.js';
import { SessionViewers } from './session-viewers.js';
import { SessionInput } from './session-input.js';
import { STDIN_ACK_DELAY_MS, StdinAckSchedule } from './stdin-ack-schedule.js';

/**
 * One live session: the thin shell around the pure core (STYLE.md rule 6). It owns — and
 * releases in ONE idempotent dispose() (rule 7) — the sandbox (a SessionSource), the output
 * ring and flow window (OutputPump), the stdin queue (StdinPump), its resume token, its timers
 * (SessionTimers: lifetime, idle, resume grace), the quota lease (renewed by a LeaseKeeper)
 * and its connections. Lifecycle decisions are session-state.ts's: events go in through one
 * queue (`#dispatch`, never re-entered), actions come out and are applied here. The input
 * path (stdin, resize, signals and their rate limits) is session-input.ts; the connections
 * that only watch (attach) are session-viewers.ts's.
 */

export interface CloseWith {
  readonly code: number;
  readonly reason: string;
}

const RESUME_REJECTED = 'The resume token is not valid for this session; open a new session.';
const INTERNAL_ERROR: CloseWith = Object.freeze({ code: 1011, reason: 'internal error' });
/** The session's own end (exit delivered, grace run out, spawn failed): only viewers can still be open then. */
const SESSION_ENDED: CloseWith = Object.freeze({ code: 1000, reason: 'session ended' });

export class LiveSession {
  readonly id: string;
  readonly kind: SessionKind;
  readonly owner: SessionOwner;
  readonly #ctx: SessionContext;
  readonly #init: LiveSessionInit;
  readonly #output: OutputPump;
  readonly #input: SessionInput;
  readonly #stdinAcks: StdinAckSchedule;
  readonly #viewers: SessionViewers;
  readonly #timers: SessionTimers;
  /** The session's time limit: the gateway's maxSessionLifetimeMs or the policy's shorter one, ms. */
  readonly #lifetimeMs: number;
  readonly #connections = new Map<number, SessionConnection>();
  readonly #keeper: LeaseKeeper;
  readonly #events: SessionEvent[] = [];
  #state: SessionState = initialSessionState();
  #label: SessionLabel | undefined;
  #dispatching = false;
  #source: SessionSource | undefined;
  #spawning: Promise<SessionSource | undefined> | undefined;
  #helloSent = false;
  #confirmPending = false;
  #drainDeadline: number | undefined;
  #disposing: Promise<void> | undefined;

  constructor(ctx: SessionContext, init: LiveSessionInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.owner = Object.freeze({ tenant: init.principal.tenant, user: init.principal.user });
    this.#ctx = ctx;
    this.#init = init;
    const { layer, hello } = ctx.settings;
    this.#output = new OutputPump({ ...layer, outputWindowBytes: hello.outputWindowBytes, maxDataFrameBytes: hello.maxDataFrameBytes });
    this.#stdinAcks = new StdinAckSchedule({
      windowBytes: hello.stdinWindowBytes,
      delayMs: STDIN_ACK_DELAY_MS,
      eager: init.kind === 'pty',
      send: () => this.#acknowledgeStdin(),
    });
    this.#viewers = new SessionViewers({
      sessionId: init.id,
      kind: init.kind,
      limits: hello,
      maxViewers: layer.maxViewersPerSession,
      resumeBufferBytes: layer.resumeBufferBytes,
      output: this.#output,
      controlLimit: ctx.settings.controlLimit,
      now: ctx.now,
      log: ctx.log,
    });
    this.#input = new SessionInput({ settings: ctx.settings, now: ctx.now, source: () => this.#source, written: () => this.#stdinWritten() });
    this.#lifetimeMs = Math.min(init.policy.lifetimeMs, ctx.settings.maxSessionLifetimeMs);
    this.#timers = new SessionTimers({
      now: ctx.now,
      lifetimeMs: this.#lifetimeMs,
      idleTimeoutMs: hello.idleTimeoutMs,
      onLifetime: () => this.#dispatch({ type: 'terminate', reason: 'time-limit' }),
      onLifetimeWarning: (remainingMs) => this.#warnLifetime(remainingMs),
      onIdle: () => this.#dispatch({ type: 'terminate', reason: 'idle-timeout' }),
      onGrace: (connection) => this.#dispatch({ type: 'grace-expired', connection }),
    });
    this.#keeper = keepLeaseAlive(ctx.quotaStore, init.lease, {
      renewEveryMs: ctx.settings.leaseRenewEveryMs,
      onLost: () => {
        ctx.log({ event: 'session.lease-lost', level: 'warn', sessionId: this.id });
        this.#dispatch({ type: 'terminate', reason: 'killed' });
      },
      onError: (error) => ctx.log({ event: 'session.lease-renew-failed', level: 'warn', sessionId: this.id, error: error instanceof Error ? error.message : 'unknown' }),
    });
    this.#adopt(0, init.connection);
    this.#publishLabel();
  }

  /** Spawns the sandbox; the hello follows once it runs. Never rejects. */
  async start(): Promise<void> {
    const events: SourceEvents = {
      output: (channel, bytes) => {
        if (this.#disposing !== undefined) return;
        // Sent as each PTY read arrives. Holding reads back to send fewer, larger frames was
        // measured (gateway bench, 2 ms once 16 KiB were in flight): 8× fewer frames, but the
        // gateway then read the PTY sooner, in smaller reads (2.6–3.0 KiB instead of 3.8–4.0 of
        // the line discipline's 4 KiB), and a flood ran about 6 % slower.
        this.#guard('output', () => {
          const send = this.#sender();
          this.#output.produce(channel, bytes, send);
          this.#timers.touch();
          this.#flushOutput(send);
          if (this.#viewers.size > 0) this.#viewers.pump();
        });
      },
      outputEnded: () => this.#dispatch({ type: 'output-ended', outputOffset: this.#output.producedOffset }),
    };
    const startedAt = this.#ctx.now();
    this.#ctx.spawning();
    this.#spawning = this.#ctx.spawn(this.kind, this.#init.spec, this.#init.size, events).then(
      (source) => {
        this.#ctx.spawning({ seconds: (this.#ctx.now() - startedAt) / 1000 });
        return source;
      },
      (error: unknown) => {
        this.#ctx.spawning({ seconds: undefined });
        const code: ErrorCode = isSandgateError(error) ? error.code : 'SG_SANDBOX_SPAWN';
        const message = error instanceof Error ? error.message : 'the sandbox could not be started';
        this.#ctx.log({ event: 'session.spawn-failed', level: 'error', sessionId: this.id, code, error: message });
        this.#dispatch({ type: 'spawn-failed', code, message });
        return undefined;
      },
    );
    const source = await this.#spawning;
    if (source === undefined || this.#disposing !== undefined) return; // dispose() releases it
    this.#source = source;
    this.#output.attachSource(source);
    void source.result.then((result) => this.#ended(result));
    this.#dispatch({ type: 'spawned' });
    const connection = this.#current();
    if (connection !== undefined) this.#sendHello(connection, { resumed: false, token: this.#ctx.tokens.issue({ ...this.owner, sessionId: this.id }, this.#ctx.settings.hello.resumeGraceMs), outputOffset: 0, lostBytes: 0 });
  }

  /**
   * Attaches `connection`, whose first frame is `frame`, in place of the current one. Returns
   * the refusal instead when the resume cannot go on (the caller fails the connection with it).
   */
  resume(connection: SessionConnection, frame: ResumeFrame): SessionError | undefined {
    if (!isResumable(this.#state) || !this.#helloSent || this.#disposing !== undefined) return new SessionError('SG_RESUME_REJECTED', RESUME_REJECTED);
    const redeemed = this.#ctx.tokens.redeem(frame.resumeToken, { ...this.owner, sessionId: this.id });
    if (!redeemed.ok) return redeemed.error;
    const plan = this.#output.planResume(frame.outputOffset);
    if (!plan.ok) return plan.error;
    this.#output.applyResume(plan);
    this.#dispatch({ type: 'connection-resumed' });
    const number = this.#attachedNumber();
    if (number === undefined) return new SessionError('SG_RESUME_REJECTED', RESUME_REJECTED);
    this.#adopt(number, connection);
    this.#confirmPending = true;
    this.#sendHello(connection, { resumed: true, token: redeemed.token, outputOffset: plan.resumedOffset, lostBytes: plan.lostBytes });
    return undefined;
  }

  /**
   * Makes `connection` (first frame `frame`) a viewer of this session; the registry has
   * checked that its token may reach the session. Returns the refusal for the caller to fail
   * the connection with.
   */
  attach(connection: SessionConnection, frame: AttachFrame): SessionError | undefined {
    if (this.#disposing !== undefined || this.#state.phase === 'ended') return sessionNotFound();
    const refused = this.#viewers.add(connection, frame);
    if (refused === undefined && this.#drainDeadline !== undefined) connection.send(this.#shutdownNotice());
    return refused;
  }

  /** The gateway drains: tell the client (and the viewers) it has `graceMs` before its connection closes. */
  notifyShutdown(graceMs: number): void {
    this.#drainDeadline = this.#ctx.now() + graceMs;
    const connection = this.#current();
    if (connection !== undefined && connection.conversation.phase === 'running') this.#sendShutdownNotice(connection);
    this.#viewers.notify(this.#shutdownNotice());
  }

  /**
   * Releases everything the session holds, once: timers, stdin queue, lease renewal, resume
   * token, registration, connections (closed with `closeWith` unless already closing), the
   * sandbox (killed, cgroup removed), then the lease. Resolves when all of it is gone.
   */
  dispose(closeWith: CloseWith = INTERNAL_ERROR): Promise<void> {
    if (this.#disposing === undefined) {
      // Marked before any step runs, so that nothing a step triggers can start a second release.
      this.#disposing = Promise.resolve().then(() => this.#release(closeWith));
      this.#ctx.disposing(this, this.#disposing);
    }
    return this.#disposing;
  }

  async #release(closeWith: CloseWith): Promise<void> {
    this.#timers.dispose();
    this.#input.dispose();
    this.#stdinAcks.dispose();
    this.#viewers.release(closeWith);
    this.#keeper.stop();
    this.#ctx.tokens.revoke(this.id);
    this.#ctx.ended(this);
    this.#ctx.stateChanged(this.#label, undefined);
    for (const connection of this.#connections.values()) connection.close(closeWith.code, closeWith.reason);
    const source = this.#source ?? (await this.#spawning);
    if (source !== undefined) {
      const result = await source.dispose();
      if (result.cleanupError !== undefined) {
        this.#ctx.log({ event: 'session.cleanup-failed', level: 'warn', sessionId: this.id, code: result.cleanupError.code, error: result.cleanupError.message });
      }
    }
    await this.#ctx.quotaStore.release(this.#keeper.lease).catch((error: unknown) => {
      // The lease expires by itself within leaseTtlMs; worth a line, not a failure.
      this.#ctx.log({ event: 'lease.release-failed', level: 'warn', sessionId: this.id, error: error instanceof Error ? error.message : 'unknown' });
    });
  }

  #adopt(number: number, connection: SessionConnection): void {
    this.#connections.set(number, connection);
    connection.bind({
      frame: (frame) => this.#onFrame(number, connection, frame),
      closed: () => {
        if (this.#connections.get(number) === connection) this.#connections.delete(number);
        this.#dispatch({ type: 'connection-lost', connection: number });
      },
    });
  }

  #sendHello(connection: SessionConnection, hello: { resumed: boolean; token: string; outputOffset: number; lostBytes: number }): void {
    const sent = connection.send({
      type: 'hello',
      sessionId: this.id,
      resumeToken: hello.token,
      kind: this.kind,
      resumed: hello.resumed,
      outputOffset: hello.outputOffset,
      stdinOffset: this.#input.stdin.received,
      stdinClosed: this.#input.stdin.closeRequested,
      limits: this.#ctx.settings.hello,
    });
    if (!sent) return;
    this.#helloSent = true;
    if (hello.lostBytes > 0) {
      connection.send({
        type: 'notice',
        kind: 'resume-truncated',
        requestedOffset: hello.outputOffset - hello.lostBytes,
        resumedOffset: hello.outputOffset,
        message: `${hello.lostBytes} output bytes had left the resume buffer (resumeBufferBytes ${this.#ctx.settings.layer.resumeBufferBytes}) and are lost.`,
      });
    }
    if (this.#drainDeadline !== undefined) this.#sendShutdownNotice(connection);
    this.#stdinAcks.now();
    this.#flushOutput();
  }

  /** The session's time limit is `remainingMs` away: a quota-warning (wall-time) to the client and the viewers. */
  #warnLifetime(remainingMs: number): void {
    const limit = this.#lifetimeMs;
    const notice: QuotaWarningNotice = {
      type: 'notice',
      kind: 'quota-warning',
      resource: 'wall-time',
      used: limit - remainingMs,
      limit,
      message: `This session reaches its time limit in ${Math.round(remainingMs / 1000)} s and will then be ended.`,
    };
    this.#running()?.send(notice);
    this.#viewers.notify(notice);
  }

  #sendShutdownNotice(connection: SessionConnection): void {
    connection.send(this.#shutdownNotice());
  }

  #shutdownNotice(): ShuttingDownNotice {
    const graceMs = Math.max(0, Math.round((this.#drainDeadline ?? 0) - this.#ctx.now()));
    return { type: 'notice', kind: 'shutting-down', graceMs, message: `The gateway is shutting down; this connection closes within ${graceMs} ms.` };
  }

  #onFrame(number: number, connection: SessionConnection, frame: ClientFrame): void {
    if (this.#disposing !== undefined || number !== this.#attachedNumber()) return;
    if (this.#confirmPending) {
      // Any frame after a resumed hello proves the client has the new token (resume-tokens.ts).
      this.#confirmPending = false;
      this.#ctx.tokens.confirm(this.id);
    }
    switch (frame.type) {
      case 'ack': {
        const acked = this.#output.ack(frame.offset);
        if (acked instanceof SessionError) return connection.fail(acked.code, acked.message);
        if (!acked.advanced && !this.#input.allowControl(connection, 'ack')) return;
        return this.#flushOutput();
      }
      case 'stdin':
        this.#timers.touch();
        return this.#input.stdin.push(frame.data);
      case 'stdin-close':
        return this.#input.stdin.requestClose();
      case 'resize':
        return this.#input.resize(connection, frame.cols, frame.rows);
      case 'signal':
        return this.#input.signal(connection, frame.signal);
      case 'open':
      case 'resume':
      case 'attach':
        // The conversation reducer refuses these after the first frame; a bug if it gets here.
        return connection.fail('SG_PROTO_OUT_OF_ORDER', `${frame.type} after the session started`);
      default:
        return assertNever(frame, 'client frame');
    }
  }

  /** Stdin reached the process: the attached client is owed an ack (stdin-ack-schedule.ts says how it gets it). */
  #stdinWritten(): void {
    const connection = this.#running();
    if (connection !== undefined) this.#stdinAcks.written(this.#input.stdin.written - connection.conversation.stdinAcked);
  }

  /** Sends a stdin-ack when the process has taken more than this connection was told. */
  #acknowledgeStdin(): void {
    const connection = this.#running();
    if (connection === undefined) return;
    const written = this.#input.stdin.written;
    if (written > connection.conversation.stdinAcked) connection.send({ type: 'stdin-ack', offset: written });
  }

  /** The attached connection once it runs (after hello). */
  #running(): SessionConnection | undefined {
    const connection = this.#current();
    return connection !== undefined && connection.conversation.phase === 'running' ? connection : undefined;
  }

  /**
   * How to send output now: as output frames on the running connection, each carrying the
   * stdin acknowledgement (never below what this connection was told: after a resume hello
   * counts every byte received as acknowledged); undefined while no client can take output.
   */
  #sender(): ((chunk: OutputChunk) => void) | undefined {
    const connection = this.#running();
    if (connection === undefined) return undefined;
    return (chunk) => {
      const stdinAck = Math.max(this.#input.stdin.written, connection.conversation.stdinAcked);
      connection.send({ type: 'output', channel: chunk.channel, offset: chunk.offset, stdinAck, data: chunk.data });
      this.#stdinAcks.carried();
    };
  }

  /** Sends what the window allows; `send` when the caller already has it (#sender()). */
  #flushOutput(send = this.#sender()): void {
    if (send !== undefined) this.#output.pump(send);
    const connection = this.#current();
    const state = this.#state;
    if (state.phase === 'exiting' && state.outputEnd !== undefined && !state.drained && connection !== undefined && this.#output.sentOffset === state.outputEnd) {
      this.#dispatch({ type: 'output-drained', connection: state.connection });
    }
  }

  #ended(result: SandboxResult): void {
    if (this.#disposing !== undefined) return;
    const end = sessionEndOf(result, { clientKilled: this.#input.killRequested });
    if (result.cleanupError !== undefined) {
      this.#ctx.log({ event: 'session.cleanup-failed', level: 'warn', sessionId: this.id, code: result.cleanupError.code, error: result.cleanupError.message });
    }
    const connection = this.#current();
    if (end.failure !== undefined && connection !== undefined && connection.conversation.phase === 'running') {
      connection.refuse(end.failure.code, end.failure.message);
    }
    this.#dispatch({ type: 'process-exited', status: end.status });
  }

  /** The attached, open connection (undefined while detached). */
  #current(): SessionConnection | undefined {
    const number = this.#attachedNumber();
    const connection = number === undefined ? undefined : this.#connections.get(number);
    return connection?.isOpen === true ? connection : undefined;
  }

  #attachedNumber(): number | undefined {
    const state = this.#state;
    return state.phase !== 'ended' && state.attached ? state.connection : undefined;
  }

  #dispatch(event: SessionEvent): void {
    this.#events.push(event);
    if (this.#dispatching) return;
    this.#dispatching = true;
    this.#guard(event.type, () => {
      try {
        for (let next = this.#events.shift(); next !== undefined; next = this.#events.shift()) {
          if (this.#disposing !== undefined) break;
          const result = transition(this.#state, next);
          if (result.kind === 'invalid') this.#ctx.log({ event: 'session.invalid-event', level: 'error', sessionId: this.id, type: next.type, why: result.why });
          if (result.kind !== 'next') continue;
          this.#state = result.state;
          for (const action of result.actions) this.#apply(action);
          this.#publishLabel();
        }
      } finally {
        this.#events.length = 0;
        this.#dispatching = false;
      }
      // A resume rewinds `drained`: sending resumes on the new connection.
      if (this.#disposing === undefined) this.#flushOutput();
      // Viewers get exit as soon as it is known, whether or not the owner is there to take it.
      const exit = exitFrameOf(this.#state);
      if (exit !== undefined) this.#viewers.finish(exit);
    });
  }

  /**
   * Runs a step of the shell; a throw is a bug of the session layer: it ends this session
   * (1011), never the gateway or another session.
   */
  #guard(what: string, step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#ctx.log({ event: 'session.failed', level: 'error', sessionId: this.id, during: what, error: error instanceof Error ? error.message : 'unknown' });
      void this.dispose(INTERNAL_ERROR);
    }
  }

  #apply(action: SessionAction): void {
    switch (action.type) {
      case 'kill-process':
        return this.#source?.kill();
      case 'start-grace-timer': {
        this.#ctx.tokens.detached(this.id);
        // Nobody can resume a session whose hello never arrived, nor one on a draining gateway.
        const graceMs = this.#helloSent && !this.#ctx.isDraining() ? this.#ctx.settings.hello.resumeGraceMs : 0;
        return this.#timers.startGrace(action.connection, graceMs);
      }
      case 'cancel-grace-timer':
        return this.#timers.cancelGrace();
      case 'close-superseded':
        return this.#connections.get(action.connection)?.fail('SG_RESUME_SUPERSEDED', 'Another connection resumed this session.');
      case 'send-exit': {
        this.#viewers.finish(action.frame);
        const connection = this.#connections.get(action.connection);
        connection?.send(action.frame);
        return connection?.end();
      }
      case 'send-error':
        return this.#connections.get(action.connection)?.fail(action.code, action.message);
      case 'dispose':
        void this.dispose(SESSION_ENDED);
        return;
      default:
        return assertNever(action, 'session action');
    }
  }

  #publishLabel(): void {
    const state = this.#state;
    const label: SessionLabel | undefined = state.phase === 'ended' ? undefined : !state.attached ? 'detached' : state.phase;
    if (label === this.#label || this.#disposing !== undefined) return;
    this.#ctx.stateChanged(this.#label, label);
    this.#label = label;
  }
}
