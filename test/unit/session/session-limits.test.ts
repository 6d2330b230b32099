import test from 'ava';
import { DEFAULT_SESSION_LIMITS } from '../../../client-sdk/src/protocol/index.js';
import { PTY_READ_MAX_BYTES, requiredRingBytes, SESSION_LAYER_DEFAULTS, sessionLimitProblems, sessionMemoryBoundBytes } from '../../../server/session/session-limits.js';

test('the defaults are valid together with the protocol defaults', (t) => {
  t.deepEqual(sessionLimitProblems(SESSION_LAYER_DEFAULTS, DEFAULT_SESSION_LIMITS), []);
  t.true(Object.isFrozen(SESSION_LAYER_DEFAULTS));
});

test('the default ring is exactly what an exact resume needs with the default window', (t) => {
  t.is(SESSION_LAYER_DEFAULTS.resumeBufferBytes, requiredRingBytes(DEFAULT_SESSION_LIMITS.outputWindowBytes, SESSION_LAYER_DEFAULTS.sourceHighWaterBytes));
  t.is(requiredRingBytes(1000, 200), 1200 + PTY_READ_MAX_BYTES);
});

test('the per-session memory bound with the defaults is under 4 MiB: ring, its bitmap, the socket backlog limit (window + 1 MiB), a paused stream, stdin', (t) => {
  const bound = sessionMemoryBoundBytes(SESSION_LAYER_DEFAULTS, DEFAULT_SESSION_LIMITS);
  t.is(bound, 1280 * 1024 + 160 * 1024 + (1024 + 1024) * 1024 + 80 * 1024 + 256 * 1024);
  t.true(bound < 4 * 1024 * 1024);
});

test('conflicting limits fail with a sentence naming the options', (t) => {
  const rows: Array<[change: Partial<typeof SESSION_LAYER_DEFAULTS>, window: number, pattern: RegExp]> = [
    [{}, 4 * 1024 * 1024, /resumeBufferBytes \(1310720\) must be at least outputWindowBytes \(4194304\)/],
    [{ sourceLowWaterBytes: 192 * 1024 }, DEFAULT_SESSION_LIMITS.outputWindowBytes, /sourceLowWaterBytes .* must be below sourceHighWaterBytes/],
    [{ stdinBurstBytes: 0 }, DEFAULT_SESSION_LIMITS.outputWindowBytes, /stdinBurstBytes must be a positive integer/],
    [{ controlBurstFrames: 0.5 }, DEFAULT_SESSION_LIMITS.outputWindowBytes, /controlBurstFrames must be a positive integer/],
    [{ sourceLowWaterBytes: -1 }, DEFAULT_SESSION_LIMITS.outputWindowBytes, /sourceLowWaterBytes must be an integer of 0 or more/],
  ];
  for (const [change, window, pattern] of rows) {
    const problems = sessionLimitProblems({ ...SESSION_LAYER_DEFAULTS, ...change }, { ...DEFAULT_SESSION_LIMITS, outputWindowBytes: window });
    t.true(problems.some((problem) => pattern.test(problem)), `${JSON.stringify(change)}: ${problems.join(' | ')}`);
  }
});
