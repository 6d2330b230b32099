import test from 'ava';
import {
  exitReason,
  initialSessionState,
  isResumable,
  transition,
  type ProcessStatus,
  type SessionAction,
  type SessionEvent,
  type SessionState,
  type Transition,
} from '../../../server/session/session-state.js';
import { propertySeeds, SeededRandom } from './seeded-random.js';

const usage = { cpuMs: 12, peakMemoryBytes: 4096, wallMs: 50 };
const exited0: ProcessStatus = { code: 0, signal: null, usage };
const killed: ProcessStatus = { code: null, signal: 'KILL', usage };

/** Applies events in order; every one must be a 'next'. Returns the last state and all actions. */
function run(events: readonly SessionEvent[], from: SessionState = initialSessionState()): { state: SessionState; actions: SessionAction[] } {
  let state = from;
  const actions: SessionAction[] = [];
  for (const event of events) {
    const result = transition(state, event);
    if (result.kind !== 'next') throw new Error(`${event.type} in ${state.phase}: ${result.kind} (${result.why})`);
    state = result.state;
    actions.push(...result.actions);
  }
  return { state, actions };
}

const types = (actions: readonly SessionAction[]): string[] => actions.map((action) => action.type);
const describe = (result: Transition): string => (result.kind === 'next' ? `${result.state.phase}: ${types(result.actions).join(',') || '-'}` : result.kind);

// A fixed set of states, each reached through the machine itself.
const STATES: Record<string, SessionState> = {
  'starting': initialSessionState(),
  'starting detached': run([{ type: 'connection-lost', connection: 0 }]).state,
  'running': run([{ type: 'spawned' }]).state,
  'running detached': run([{ type: 'spawned' }, { type: 'connection-lost', connection: 0 }]).state,
  'running terminating': run([{ type: 'spawned' }, { type: 'terminate', reason: 'time-limit' }]).state,
  'exiting, status only': run([{ type: 'spawned' }, { type: 'process-exited', status: exited0 }]).state,
  'exiting, output ended': run([{ type: 'spawned' }, { type: 'output-ended', outputOffset: 10 }]).state,
  'exiting, output drained': run([{ type: 'spawned' }, { type: 'output-ended', outputOffset: 10 }, { type: 'output-drained', connection: 0 }]).state,
  'exiting detached, status and output': run([
    { type: 'spawned' },
    { type: 'output-ended', outputOffset: 10 },
    { type: 'connection-lost', connection: 0 },
    { type: 'process-exited', status: exited0 },
  ]).state,
  'ended': run([{ type: 'spawn-failed', code: 'SG_SANDBOX_SPAWN', message: 'no launcher' }]).state,
};

const EVENTS: Record<string, SessionEvent> = {
  'spawned': { type: 'spawned' },
  'spawn-failed': { type: 'spawn-failed', code: 'SG_SANDBOX_SPAWN', message: 'no launcher' },
  'lost (current)': { type: 'connection-lost', connection: 0 },
  'lost (stale)': { type: 'connection-lost', connection: 7 },
  'resumed': { type: 'connection-resumed' },
  'terminate': { type: 'terminate', reason: 'killed' },
  'process-exited': { type: 'process-exited', status: exited0 },
  'output-ended': { type: 'output-ended', outputOffset: 10 },
  'drained (current)': { type: 'output-drained', connection: 0 },
  'drained (stale)': { type: 'output-drained', connection: 7 },
  'grace (current)': { type: 'grace-expired', connection: 0 },
  'grace (stale)': { type: 'grace-expired', connection: 7 },
};

/** Every state × every event: what happens. `-` = no actions. */
const EXPECTED: Record<string, Record<string, string>> = {
  'starting': {
    'spawned': 'running: -', 'spawn-failed': 'ended: send-error,dispose', 'lost (current)': 'starting: start-grace-timer',
    'lost (stale)': 'ignored', 'resumed': 'invalid', 'terminate': 'starting: -', 'process-exited': 'invalid', 'output-ended': 'invalid',
    'drained (current)': 'invalid', 'drained (stale)': 'invalid', 'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
  'starting detached': {
    'spawned': 'running: -', 'spawn-failed': 'ended: dispose', 'lost (current)': 'ignored', 'lost (stale)': 'ignored', 'resumed': 'invalid',
    'terminate': 'starting: -', 'process-exited': 'invalid', 'output-ended': 'invalid', 'drained (current)': 'invalid',
    'drained (stale)': 'invalid', 'grace (current)': 'ended: dispose', 'grace (stale)': 'ignored',
  },
  'running': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'running: start-grace-timer', 'lost (stale)': 'ignored',
    'resumed': 'running: close-superseded', 'terminate': 'running: kill-process', 'process-exited': 'exiting: -', 'output-ended': 'exiting: -',
    'drained (current)': 'invalid', 'drained (stale)': 'invalid', 'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
  'running detached': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'ignored', 'lost (stale)': 'ignored', 'resumed': 'running: cancel-grace-timer',
    'terminate': 'running: kill-process', 'process-exited': 'exiting: -', 'output-ended': 'exiting: -', 'drained (current)': 'invalid',
    'drained (stale)': 'invalid', 'grace (current)': 'ended: dispose', 'grace (stale)': 'ignored',
  },
  'running terminating': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'running: start-grace-timer', 'lost (stale)': 'ignored',
    'resumed': 'running: close-superseded', 'terminate': 'ignored', 'process-exited': 'exiting: -', 'output-ended': 'exiting: -',
    'drained (current)': 'invalid', 'drained (stale)': 'invalid', 'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
  'exiting, status only': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'exiting: start-grace-timer', 'lost (stale)': 'ignored',
    'resumed': 'exiting: close-superseded', 'terminate': 'ignored', 'process-exited': 'invalid', 'output-ended': 'exiting: -',
    'drained (current)': 'invalid', 'drained (stale)': 'invalid', 'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
  'exiting, output ended': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'exiting: start-grace-timer', 'lost (stale)': 'ignored',
    'resumed': 'exiting: close-superseded', 'terminate': 'exiting: kill-process', 'process-exited': 'exiting: -', 'output-ended': 'invalid',
    'drained (current)': 'exiting: -', 'drained (stale)': 'ignored', 'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
  'exiting, output drained': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'exiting: start-grace-timer', 'lost (stale)': 'ignored',
    'resumed': 'exiting: close-superseded', 'terminate': 'exiting: kill-process', 'process-exited': 'ended: send-exit,dispose', 'output-ended': 'invalid',
    'drained (current)': 'exiting: -', 'drained (stale)': 'ignored', 'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
  'exiting detached, status and output': {
    'spawned': 'invalid', 'spawn-failed': 'invalid', 'lost (current)': 'ignored', 'lost (stale)': 'ignored', 'resumed': 'exiting: cancel-grace-timer',
    'terminate': 'ignored', 'process-exited': 'invalid', 'output-ended': 'invalid', 'drained (current)': 'exiting: -', 'drained (stale)': 'ignored',
    'grace (current)': 'ended: dispose', 'grace (stale)': 'ignored',
  },
  'ended': {
    'spawned': 'ignored', 'spawn-failed': 'ignored', 'lost (current)': 'ignored', 'lost (stale)': 'ignored', 'resumed': 'invalid', 'terminate': 'ignored',
    'process-exited': 'ignored', 'output-ended': 'ignored', 'drained (current)': 'ignored', 'drained (stale)': 'ignored',
    'grace (current)': 'ignored', 'grace (stale)': 'ignored',
  },
};

test('every state × every event, as a table', (t) => {
  const wrong: string[] = [];
  for (const [stateName, state] of Object.entries(STATES)) {
    for (const [eventName, event] of Object.entries(EVENTS)) {
      const got = describe(transition(state, event));
      const expected = EXPECTED[stateName]?.[eventName];
      if (got !== expected) wrong.push(`${stateName} + ${eventName}: got ${got}, expected ${expected}`);
    }
  }
  t.deepEqual(wrong, []);
});

test('a pty session from start to exit: exit goes out only after status, end of output and drain', (t) => {
  const { state, actions } = run([
    { type: 'spawned' },
    { type: 'process-exited', status: exited0 },
    { type: 'output-ended', outputOffset: 2000 },
    { type: 'output-drained', connection: 0 },
  ]);
  t.deepEqual(state, { phase: 'ended', outcome: 'exit-delivered' });
  t.deepEqual(actions, [
    { type: 'send-exit', connection: 0, frame: { type: 'exit', outputOffset: 2000, code: 0, signal: null, reason: 'exited', usage } },
    { type: 'dispose' },
  ]);
});

test('a drop while exiting keeps the session; the resume must drain again before exit', (t) => {
  const before = run([
    { type: 'spawned' },
    { type: 'output-ended', outputOffset: 500 },
    { type: 'output-drained', connection: 0 },
    { type: 'connection-lost', connection: 0 },
    { type: 'process-exited', status: killed },
  ]);
  t.is(before.state.phase, 'exiting');
  t.false(types(before.actions).includes('send-exit'), 'no exit while detached');
  const resumed = run([{ type: 'connection-resumed' }], before.state);
  t.like(resumed.state, { phase: 'exiting', attached: true, connection: 1, drained: false });
  t.is(describe(transition(resumed.state, { type: 'output-drained', connection: 0 })), 'ignored', 'a drain of the old connection does not count');
  const done = run([{ type: 'output-drained', connection: 1 }], resumed.state);
  t.like(done.actions[0], { type: 'send-exit', connection: 1, frame: { signal: 'KILL', code: null, reason: 'signaled', outputOffset: 500 } });
});

test('a resume while attached supersedes the old connection; its late close is ignored', (t) => {
  const { state, actions } = run([{ type: 'spawned' }, { type: 'connection-resumed' }]);
  t.deepEqual(actions, [{ type: 'close-superseded', connection: 0 }]);
  t.like(state, { attached: true, connection: 1 });
  t.is(transition(state, { type: 'connection-lost', connection: 0 }).kind, 'ignored');
  t.is(describe(transition(state, { type: 'connection-lost', connection: 1 })), 'running: start-grace-timer');
});

test('a grace timer of an earlier drop cannot end the session after a resume and a new drop', (t) => {
  const { state } = run([{ type: 'spawned' }, { type: 'connection-lost', connection: 0 }, { type: 'connection-resumed' }, { type: 'connection-lost', connection: 1 }]);
  t.is(transition(state, { type: 'grace-expired', connection: 0 }).kind, 'ignored');
  t.is(describe(transition(state, { type: 'grace-expired', connection: 1 })), 'ended: dispose');
});

test('a terminate while spawning kills the process as soon as it exists; the reason reaches exit', (t) => {
  const { actions } = run([
    { type: 'terminate', reason: 'shutdown' },
    { type: 'spawned' },
    { type: 'output-ended', outputOffset: 0 },
    { type: 'output-drained', connection: 0 },
    { type: 'process-exited', status: killed },
  ]);
  t.deepEqual(types(actions), ['kill-process', 'send-exit', 'dispose']);
  t.like(actions[1], { frame: { reason: 'shutdown' } });
});

test('exit reasons: the sandbox report first, then the gateway decision, then the status', (t) => {
  t.is(exitReason(exited0, undefined), 'exited');
  t.is(exitReason(killed, undefined), 'signaled');
  t.is(exitReason(killed, 'time-limit'), 'time-limit');
  t.is(exitReason({ ...killed, reason: 'memory-limit' }, 'time-limit'), 'memory-limit');
});

test('a process status that the exit frame could not carry is invalid', (t) => {
  const running = STATES['running'] ?? initialSessionState();
  const bad: ProcessStatus[] = [
    { code: 0, signal: 'KILL', usage },
    { code: null, signal: null, usage },
    { code: 256, signal: null, usage },
    { code: null, signal: 'TERM', usage, reason: 'exited' },
  ];
  for (const status of bad) t.is(transition(running, { type: 'process-exited', status }).kind, 'invalid', JSON.stringify(status));
  t.is(transition(running, { type: 'output-ended', outputOffset: -1 }).kind, 'invalid');
});

test('only running and exiting sessions are resumable', (t) => {
  t.deepEqual(
    Object.entries(STATES).filter(([, state]) => isResumable(state)).map(([name]) => name),
    ['running', 'running detached', 'running terminating', 'exiting, status only', 'exiting, output ended', 'exiting, output drained', 'exiting detached, status and output'],
  );
});

for (const seed of propertySeeds(8)) {
  test(`property (seed ${seed}): random event streams dispose once, send exit only when everything is done, never act after the end`, (t) => {
    const random = new SeededRandom(seed);
    const events = Object.values(EVENTS);
    for (let round = 0; round < 300; round++) {
      let state = initialSessionState();
      let disposes = 0;
      for (let step = 0; step < 40; step++) {
        const template = events[random.int(events.length)] ?? { type: 'spawned' };
        // Aim connection-tagged events at the current connection most of the time.
        const current = state.phase === 'ended' ? 0 : state.connection;
        const event: SessionEvent = 'connection' in template && random.chance(0.8) ? { ...template, connection: current } : template;
        const before = state;
        const result = transition(state, event);
        if (result.kind !== 'next') {
          if (result.state !== before) return t.fail('a refused event changed the state');
          continue;
        }
        if (before.phase === 'ended') return t.fail(`${event.type} acted after the end`);
        for (const action of result.actions) {
          if (action.type === 'dispose') disposes += 1;
          if (action.type === 'send-exit') {
            if (before.phase !== 'exiting' || !before.attached || action.connection !== before.connection) return t.fail('exit sent without a client');
            if (result.state.phase !== 'ended') return t.fail('exit sent but the session goes on');
          }
        }
        state = result.state;
      }
      if (disposes !== (state.phase === 'ended' ? 1 : 0)) return t.fail(`round ${round}: ${disposes} disposes, phase ${state.phase}`);
    }
    t.pass();
  });
}
