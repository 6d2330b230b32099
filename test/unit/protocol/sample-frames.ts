/**
 * One valid example of every frame shape, for the round-trip tests and as fuzz seeds. Each
 * sample names the variant it covers; adding a frame type without a sample here fails the
 * "every type has a sample" tests.
 */
import {
  DEFAULT_SESSION_LIMITS,
  PROTOCOL_LIMITS,
  type ClientFrame,
  type ServerFrame,
} from '../../../client-sdk/src/protocol/index.js';

export const SESSION_ID = 'sess_0123456789abcdef';
export const RESUME_TOKEN = 'rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export const CLIENT_SAMPLES: ReadonlyArray<readonly [string, ClientFrame]> = [
  ['open pty, defaults', { type: 'open', kind: 'pty', cols: 80, rows: 24 }],
  [
    'open pty, every field',
    { type: 'open', kind: 'pty', argv: ['bash', '-l'], cols: 1000, rows: 1, env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' }, cwd: '/home/user' },
  ],
  ['open exec', { type: 'open', kind: 'exec', argv: ['sh', '-c', 'echo héllo 🌍; exit 3'] }],
  ['open exec, env and cwd', { type: 'open', kind: 'exec', argv: ['env', ''], env: { A: '', _B1: 'x=y' }, cwd: '/' }],
  ['resume', { type: 'resume', sessionId: SESSION_ID, resumeToken: RESUME_TOKEN, outputOffset: 123456 }],
  ['attach, the scrollback', { type: 'attach', sessionId: SESSION_ID }],
  ['attach from an offset', { type: 'attach', sessionId: SESSION_ID, outputOffset: 4096 }],
  ['resize', { type: 'resize', cols: 132, rows: 43 }],
  ['signal INT', { type: 'signal', signal: 'INT' }],
  ['signal WINCH', { type: 'signal', signal: 'WINCH' }],
  ['stdin', { type: 'stdin', offset: 0, data: new TextEncoder().encode('ls -la\r') }],
  ['stdin, binary bytes at a large offset', { type: 'stdin', offset: PROTOCOL_LIMITS.maxOffset - 3, data: Uint8Array.of(0, 0xff, 0x1b) }],
  ['stdin-close', { type: 'stdin-close', offset: 42 }],
  ['ack', { type: 'ack', offset: 2 ** 40 }],
];

export const SERVER_SAMPLES: ReadonlyArray<readonly [string, ServerFrame]> = [
  [
    'hello, new session',
    {
      type: 'hello',
      sessionId: SESSION_ID,
      resumeToken: RESUME_TOKEN,
      kind: 'pty',
      resumed: false,
      outputOffset: 0,
      stdinOffset: 0,
      stdinClosed: false,
      limits: DEFAULT_SESSION_LIMITS,
    },
  ],
  [
    'hello, resumed exec',
    {
      type: 'hello',
      sessionId: SESSION_ID,
      resumeToken: RESUME_TOKEN,
      kind: 'exec',
      resumed: true,
      outputOffset: 9000,
      stdinOffset: 12,
      stdinClosed: true,
      limits: { ...DEFAULT_SESSION_LIMITS, stdinBytesPerSecond: 4096, idleTimeoutMs: 600_000 },
    },
  ],
  ['attached', { type: 'attached', sessionId: SESSION_ID, kind: 'pty', outputOffset: 4096, limits: DEFAULT_SESSION_LIMITS }],
  ['output stdout', { type: 'output', channel: 'stdout', offset: 0, stdinAck: 0, data: new TextEncoder().encode('\x1b[1mhi\x1b[0m\r\n') }],
  ['output stderr', { type: 'output', channel: 'stderr', offset: 77, stdinAck: 2 ** 40 + 3, data: Uint8Array.of(0xc3) }],
  ['stdin-ack', { type: 'stdin-ack', offset: 10 }],
  ['notice throttled', { type: 'notice', kind: 'throttled', resource: 'cpu', message: 'CPU throttled to 0.5 cores' }],
  ['notice quota-warning', { type: 'notice', kind: 'quota-warning', resource: 'memory', used: 240 * 2 ** 20, limit: 256 * 2 ** 20, message: 'memory at 94%' }],
  ['notice shutting-down', { type: 'notice', kind: 'shutting-down', graceMs: 30_000, message: 'gateway restarting' }],
  ['notice resume-truncated', { type: 'notice', kind: 'resume-truncated', requestedOffset: 10, resumedOffset: 4096, message: '4086 bytes lost' }],
  ['exit by code', { type: 'exit', outputOffset: 5, code: 0, signal: null, reason: 'exited', usage: { cpuMs: 12, peakMemoryBytes: 3_000_000, wallMs: 40 } }],
  ['exit by signal', { type: 'exit', outputOffset: 0, code: null, signal: 'KILL', reason: 'memory-limit', usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs: 0 } }],
  ['exit by real-time signal', { type: 'exit', outputOffset: 1, code: 162, signal: null, reason: 'signaled', usage: { cpuMs: 1, peakMemoryBytes: 1, wallMs: 1 } }],
  ['error fatal', { type: 'error', code: 'SG_PROTO_MALFORMED', message: 'control frame is not valid JSON', fatal: true }],
  ['error from a newer registry', { type: 'error', code: 'SG_SOMETHING_NEW', message: '', fatal: false }],
];
