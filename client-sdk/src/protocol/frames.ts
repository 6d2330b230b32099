/**
 * The sandgate wire protocol, version 1: every frame either side may send, as one closed
 * discriminated union per direction. docs/protocol.md is the prose version of this file;
 * change both together (and bump the version when the wire changes, see "Versioning").
 *
 * Two encodings, chosen by what a frame carries:
 * - data frames (terminal bytes, both ways) are binary WebSocket messages:
 *   `[channel u8][offset u64 big-endian][payload]` (data-frame.ts);
 * - control frames are JSON text messages validated strictly (client-control.ts, server-control.ts).
 *
 * Offsets and counts are bytes. Every number on the wire is an integer in the safe range.
 */

export const PROTOCOL_VERSION = 1;
/** The Sec-WebSocket-Protocol value the server selects (the only one it ever echoes). */
export const SUBPROTOCOL = 'sandgate.v1';
/** Prefix of the subprotocol entry that carries the bearer token (browsers cannot set headers). */
export const TOKEN_SUBPROTOCOL_PREFIX = 'sandgate.token.';
/**
 * The subprotocol entry a client offers when it reconnects to resume: admission then counts
 * no new session against the quotas, and the first frame must be a valid `resume`. Never echoed.
 */
export const RESUME_SUBPROTOCOL = 'sandgate.resume';
/**
 * The entry a viewer offers: the connection will attach (watch a session) and opens none, so
 * admission counts no new session; the first frame must be an `attach`. Never echoed.
 */
export const ATTACH_SUBPROTOCOL = 'sandgate.attach';
/** What a connection that offers a hint will do instead of opening a session. */
export type SessionHint = 'resume' | 'attach';

/**
 * Channel byte of a data frame. One output offset space is shared by stdout and stderr: the
 * session's output is one ordered stream whose chunks are tagged, so one ack, one window and
 * one resume offset cover both.
 */
export const CHANNEL_IDS = { stdout: 0, stderr: 1, stdin: 2 } as const;
export type OutputChannel = 'stdout' | 'stderr';
/** Bytes before the payload of a stdin frame: channel (1) + offset (8). */
export const STDIN_HEADER_BYTES = 9;
/** Bytes before the payload of an output frame: channel (1) + offset (8) + stdin acknowledged (8). */
export const OUTPUT_HEADER_BYTES = 17;

export const SESSION_KINDS = ['pty', 'exec'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** Signals a client may send (names without `SIG`); KILL is delivered by the gateway itself. */
export const SIGNAL_NAMES = ['INT', 'TERM', 'HUP', 'QUIT', 'KILL', 'USR1', 'USR2', 'WINCH'] as const;
export type SignalName = (typeof SIGNAL_NAMES)[number];

/** Signals a process can die of: Linux 1–31 (signal(7)). Real-time signals: see ExitFrame. */
export const EXIT_SIGNAL_NAMES = [
  'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM',
  'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM',
  'PROF', 'WINCH', 'IO', 'PWR', 'SYS',
] as const;
export type ExitSignalName = (typeof EXIT_SIGNAL_NAMES)[number];

/** Why the process ended, as the gateway saw it. */
export const EXIT_REASONS = [
  'exited', // it exited on its own (code set)
  'signaled', // a signal ended it (from inside, or one the client sent)
  'time-limit', // the session's wall-clock limit passed
  'memory-limit', // the OOM killer ended it inside its memory limit
  'idle-timeout', // no client was attached for longer than the resume grace / idle timeout
  'killed', // the gateway's policy ended it (quota, admin)
  'shutdown', // the gateway shut down
] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

export const RESOURCES = ['cpu', 'memory', 'pids', 'disk', 'wall-time', 'output', 'stdin'] as const;
/** Units in notices: cpu and wall-time in ms, memory/disk/output/stdin in bytes, pids a count. */
export type Resource = (typeof RESOURCES)[number];

// --------------------------------------------------------------------------- client → server

/** First frame of a new session: a PTY (interactive, one merged output) or an exec (no tty). */
export type OpenFrame = OpenPtyFrame | OpenExecFrame;

export interface OpenPtyFrame {
  readonly type: 'open';
  readonly kind: 'pty';
  /** Command and arguments; absent = the tenant's default shell. */
  readonly argv?: readonly string[];
  /** Terminal size in character cells, 1..maxCols / 1..maxRows. */
  readonly cols: number;
  readonly rows: number;
  /** Added to the policy's environment (names `[A-Za-z_][A-Za-z0-9_]*`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Absolute working directory inside the sandbox. */
  readonly cwd?: string;
}

export interface OpenExecFrame {
  readonly type: 'open';
  readonly kind: 'exec';
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** First frame of a reconnection: continue a session after a network drop. */
export interface ResumeFrame {
  readonly type: 'resume';
  readonly sessionId: string;
  readonly resumeToken: string;
  /** Output bytes received so far = offset of the next byte wanted; also an acknowledgement. */
  readonly outputOffset: number;
}

/**
 * First frame of a viewer: watch a running session, read-only (docs/protocol.md, "Viewers").
 * The token must reach the session: its own user's, or any in its tenant with the `attach`
 * scope. A viewer receives output, notices and exit, and sends only `ack`.
 */
export interface AttachFrame {
  readonly type: 'attach';
  readonly sessionId: string;
  /** First output byte wanted; absent = the oldest byte the session still holds (its scrollback). */
  readonly outputOffset?: number;
}

export interface ResizeFrame {
  readonly type: 'resize';
  readonly cols: number;
  readonly rows: number;
}

export interface SignalFrame {
  readonly type: 'signal';
  readonly signal: SignalName;
}

/** Binary: channel 2. `offset` is the stdin offset of `data[0]`. */
export interface StdinFrame {
  readonly type: 'stdin';
  readonly offset: number;
  /** At least one byte. A view into the received message: copy it to keep it. */
  readonly data: Uint8Array;
}

/** End of stdin (EOF) after exactly `offset` stdin bytes. */
export interface StdinCloseFrame {
  readonly type: 'stdin-close';
  readonly offset: number;
}

/** Output bytes consumed, cumulative: the server may send up to `offset + outputWindowBytes`. */
export interface AckFrame {
  readonly type: 'ack';
  readonly offset: number;
}

export type ClientFrame = OpenFrame | ResumeFrame | AttachFrame | ResizeFrame | SignalFrame | StdinFrame | StdinCloseFrame | AckFrame;
export type ClientFrameType = ClientFrame['type'];
export const CLIENT_FRAME_TYPES = ['open', 'resume', 'attach', 'resize', 'signal', 'stdin', 'stdin-close', 'ack'] as const satisfies readonly ClientFrameType[];

// --------------------------------------------------------------------------- server → client

/** Per-session limits, announced in hello; each is at most its PROTOCOL_LIMITS ceiling. */
export interface SessionLimits {
  /** Largest control (text) frame either side may send, bytes. */
  readonly maxControlFrameBytes: number;
  /** Largest data (binary) frame either side may send, bytes, header included. */
  readonly maxDataFrameBytes: number;
  /** Output bytes the server may send beyond the client's last ack. */
  readonly outputWindowBytes: number;
  /** Stdin bytes the client may send beyond the server's last stdin-ack. */
  readonly stdinWindowBytes: number;
  /** Stdin rate the server accepts (it paces stdin-acks to it), bytes/s; 0 = unlimited. */
  readonly stdinBytesPerSecond: number;
  /** How long the session waits for a resume after the connection drops, ms; 0 = no resume. */
  readonly resumeGraceMs: number;
  /** The session ends after this long without input or output, ms; 0 = never. */
  readonly idleTimeoutMs: number;
}

/** The server's answer to open or resume; nothing else flows before it. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly sessionId: string;
  /** Secret that lets this user resume this session; never log it. */
  readonly resumeToken: string;
  readonly kind: SessionKind;
  /** false after open (offsets 0), true after resume. */
  readonly resumed: boolean;
  /** Offset of the next output byte sent on this connection (> the requested one: truncated). */
  readonly outputOffset: number;
  /** Stdin bytes the server has received: the client (re)sends stdin from here. */
  readonly stdinOffset: number;
  /** The server has received stdin-close (after a resume: do not send it again). */
  readonly stdinClosed: boolean;
  readonly limits: SessionLimits;
}

/**
 * The server's answer to attach: this connection now views the session, read-only. No resume
 * token (a viewer that loses its connection attaches again) and no stdin offsets (a viewer
 * sends no stdin: output frames on its connection carry stdinAck 0).
 */
export interface AttachedFrame {
  readonly type: 'attached';
  readonly sessionId: string;
  readonly kind: SessionKind;
  /** Offset of the next output byte sent on this connection (> the requested one: truncated). */
  readonly outputOffset: number;
  readonly limits: SessionLimits;
}

/** Binary: channel 0 (pty output or exec stdout) or 1 (exec stderr). */
export interface OutputFrame {
  readonly type: 'output';
  readonly channel: OutputChannel;
  /** Output offset of `data[0]`, shared by both channels. */
  readonly offset: number;
  /**
   * Stdin bytes the process has taken, cumulative: the stdin-ack every output frame carries
   * (docs/protocol.md, "Flow control"), so that a keystroke's acknowledgement rides on its
   * echo instead of a message of its own. Never below the last acknowledgement the client saw.
   */
  readonly stdinAck: number;
  /** At least one byte. A view into the received message: copy it to keep it. */
  readonly data: Uint8Array;
}

/**
 * Stdin bytes consumed by the process, cumulative: the client may send up to offset + window.
 * Sent on its own only when no output frame carries the acknowledgement soon enough.
 */
export interface StdinAckFrame {
  readonly type: 'stdin-ack';
  readonly offset: number;
}

export type NoticeFrame = ThrottledNotice | QuotaWarningNotice | ShuttingDownNotice | ResumeTruncatedNotice;

export interface ThrottledNotice {
  readonly type: 'notice';
  readonly kind: 'throttled';
  readonly resource: Resource;
  readonly message: string;
}

export interface QuotaWarningNotice {
  readonly type: 'notice';
  readonly kind: 'quota-warning';
  readonly resource: Resource;
  /** In the resource's unit (see Resource). */
  readonly used: number;
  readonly limit: number;
  readonly message: string;
}

export interface ShuttingDownNotice {
  readonly type: 'notice';
  readonly kind: 'shutting-down';
  /** The gateway closes this connection within this many ms. */
  readonly graceMs: number;
  readonly message: string;
}

/** After hello on a resume (or attached): bytes requestedOffset..resumedOffset had left the buffer and are lost. */
export interface ResumeTruncatedNotice {
  readonly type: 'notice';
  readonly kind: 'resume-truncated';
  readonly requestedOffset: number;
  readonly resumedOffset: number;
  readonly message: string;
}

export type NoticeKind = NoticeFrame['kind'];
export const NOTICE_KINDS = ['throttled', 'quota-warning', 'shutting-down', 'resume-truncated'] as const satisfies readonly NoticeKind[];

export interface ResourceUsage {
  readonly cpuMs: number;
  readonly peakMemoryBytes: number;
  readonly wallMs: number;
}

/**
 * The process ended; sent after the last output byte (`outputOffset` = total output), then the
 * server closes with 1000. Exactly one of `code` and `signal` is set; a death by a real-time
 * signal n is reported as code 128+n with reason 'signaled'.
 */
export interface ExitFrame {
  readonly type: 'exit';
  readonly outputOffset: number;
  readonly code: number | null;
  readonly signal: ExitSignalName | null;
  readonly reason: ExitReason;
  readonly usage: ResourceUsage;
}

/**
 * A refusal. `code` is a registry code (`SG_…`); the set grows within a version, so a client
 * narrows it with `isErrorCode` and treats an unknown one by its `fatal` flag. `fatal`: the
 * server closes the connection next, with the code's close code.
 */
export interface ErrorFrame {
  readonly type: 'error';
  readonly code: string;
  readonly message: string;
  readonly fatal: boolean;
}

export type ServerFrame = HelloFrame | AttachedFrame | OutputFrame | StdinAckFrame | NoticeFrame | ExitFrame | ErrorFrame;
export type ServerFrameType = ServerFrame['type'];
export const SERVER_FRAME_TYPES = ['hello', 'attached', 'output', 'stdin-ack', 'notice', 'exit', 'error'] as const satisfies readonly ServerFrameType[];

/** What a WebSocket message carries: a string is a text message, bytes a binary one. */
export type WireMessage = string | Uint8Array;

// Compile-time proof that the type lists above name every member of their unions.
const _allClientTypes: [Exclude<ClientFrameType, (typeof CLIENT_FRAME_TYPES)[number]>] extends [never] ? true : false = true;
const _allServerTypes: [Exclude<ServerFrameType, (typeof SERVER_FRAME_TYPES)[number]>] extends [never] ? true : false = true;
const _allNoticeKinds: [Exclude<NoticeKind, (typeof NOTICE_KINDS)[number]>] extends [never] ? true : false = true;
