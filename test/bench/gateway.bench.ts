/**
 * The gateway against the naive baseline, in ONE run on the same machine:
 *
 *   naive      test/bench/baselines/naive-server.js: ws + node-pty, bash on the host, no auth,
 *              no sandbox, no framing, no flow control;
 *   sandgate   `sandgate serve` (a child process, so its RSS is its own): JWT per upgrade, a
 *              fresh sandbox per session, the framed protocol, credit-based flow control.
 *
 * Figures: connect-to-prompt (ws open → the prompt's first byte), keystroke echo round trip
 * (one byte out → its echo back; keys back to back, and keys 5 ms apart as a fast typist;
 * on a warmed-up server, and the first keys a fresh server ever echoes, apart),
 * output throughput (`head -c N /dev/zero | base64`, median of THROUGHPUT_ROUNDS alternating
 * rounds), and server RSS per idle session (the slope of RSS over N more idle shells,
 * after N others were opened). Latency samples are interleaved between the two servers so that machine noise
 * hits both alike. Each figure is printed beside the baseline with the ratio sandgate /
 * naive. The sandbox gets 2 CPU cores, as the naive shell has.
 *
 * Rounds: latency is sampled in `--rounds` rounds, each with both servers started afresh, and
 * the samples of all rounds are pooled. On a small VM the figure depends on where the
 * scheduler happens to put the client, the server, the tty worker and the shell: a wake-up
 * across CPUs costs 30–40 µs on the 2-vCPU machines of FIELD-NOTES (a pipe ping-pong: 60–85 µs
 * round trip across CPUs, 2.6 µs on one), and that placement sticks for a process's life. In a
 * single run the same code measured 0.85–1.16x; fresh processes per round sample the
 * placements instead of betting on one. The per-round ratios are printed too.
 *
 * Warm-up: a gateway runs for days, and its keystroke path is optimised code after the first
 * few thousand keystrokes of its life. Until V8 has compiled it (TurboFan), both servers echo
 * more slowly, sandgate more so, as it runs more JavaScript per key: measured on the first
 * 300 keys of a fresh server, sandgate spent 300 µs of server CPU per key against the naive
 * server's 200, and 83 against 100 after 4,000 keys (`--max-opt=2`, which keeps TurboFan off,
 * kept both at the cold figure). So each round echoes --warm keystroke pairs per server,
 * unmeasured, before the warm figures; the first --echoes keys of the fresh servers are
 * reported on their own row ("fresh server"), not mixed into the steady state.
 *
 * The two clients do the same work around the protocol: each keeps a 4 KiB tail of the
 * output and checks its waiters on every message. The sandgate one (bench-client.ts) also
 * decodes every frame with the shared codec and runs the conversation reducer both ways, and
 * acks output as docs/protocol.md ("Flow control") recommends: once half a window is
 * unacknowledged, and at most ACK_DELAY_MS after the oldest unacknowledged byte, so that idle
 * output is acknowledged too. The naive client acks nothing (its server has no flow control).
 * `--ack every-frame` acks each output frame instead, the policy of earlier versions of this
 * bench (whose client also re-joined its whole kept output on every message). Either way an
 * ack goes out after the waiters saw the frame, as a terminal acks after rendering.
 *
 * Not a test. Usage: node dist/test/bench/gateway.bench.js [--rounds N] [--connects N]
 *   [--echoes N] [--warm N] [--mb N] [--idle N] [--ack half-window|every-frame]
 * (--connects, --echoes and --warm are per round).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { goodClaims, makeTestKeys, signed, type TestKey } from '../helpers/attack-tokens.js';
import { PROMPT } from '../helpers/gateway-attack-client.js';
import { startServerChild, type ServerChild } from '../helpers/server-child.js';
import { ACK_POLICIES, BenchClient, type AckPolicy } from './bench-client.js';
import { summarize } from './latency-stats.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NAIVE_SERVER = path.join(REPO_ROOT, 'test', 'bench', 'baselines', 'naive-server.js');
const SANDGATE_CLI = path.join(REPO_ROOT, 'bin', 'sandgate.js');
const WAIT_MS = 60_000;
/** Output bytes a bench client keeps (enough for any prompt or marker). */
const TAIL_BYTES = 4096;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    connects: { type: 'string', default: '10' },
    echoes: { type: 'string', default: '300' },
    warm: { type: 'string', default: '2000' },
    mb: { type: 'string', default: '64' },
    idle: { type: 'string', default: '150' },
    ack: { type: 'string', default: 'half-window' },
  },
});
const ROUNDS = Number(values.rounds);
const CONNECTS = Number(values.connects);
const ECHOES = Number(values.echoes);
/** Unmeasured keystroke round trips per server and round before the warm echo figures. */
const WARM_ECHOES = Number(values.warm);
const THROUGHPUT_BYTES = Number(values.mb) * 1_000_000;
const IDLE = Number(values.idle);
const THROUGHPUT_ROUNDS = 5;
/** Pause before each paced keystroke, ms: a fast typist (about 150 keys a second with the echo). */
const TYPING_GAP_MS = 5;
const ACK_POLICY = ackPolicy(values.ack);
/** Longest a sandgate bench client leaves output unacknowledged below half a window, ms. */
const ACK_DELAY_MS = 5;

function ackPolicy(value: string): AckPolicy {
  const policy = ACK_POLICIES.find((known) => known === value);
  if (policy === undefined) throw new Error(`--ack must be one of ${ACK_POLICIES.join(', ')}, got ${value}`);
  return policy;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** A terminal over either server: bytes in, bytes out, waits bounded. */
interface Term {
  write(data: string): void;
  /** Total output bytes so far. */
  readonly received: () => number;
  /** Resolves when the output from byte `from` contains `text`, with the time it arrived. */
  waitFor(text: string, from: number): Promise<number>;
  close(): void;
}

interface Server {
  readonly name: string;
  readonly child: ServerChild;
  /** Opens a shell; resolves at ws open with the terminal (the prompt has not been awaited). */
  connect(): Promise<{ term: Term; openedAt: number }>;
}

function naiveServer(child: ServerChild): Server {
  const url = `ws://127.0.0.1:${child.ready}/?ps1=${encodeURIComponent(PROMPT)}`;
  return {
    name: 'naive',
    child,
    connect: () => new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      // Only a tail is kept: concatenating all output per message would make the client, not
      // the server, the bottleneck of the throughput figure.
      let tail = Buffer.alloc(0);
      let total = 0;
      const waiters = new Set<() => void>();
      ws.on('message', (data: Buffer) => {
        total += data.byteLength;
        tail = Buffer.concat([tail, data]);
        if (tail.byteLength > TAIL_BYTES) tail = tail.subarray(tail.byteLength - TAIL_BYTES);
        for (const w of [...waiters]) w();
      });
      const term: Term = {
        write: (data) => ws.send(Buffer.from(data, 'latin1')),
        received: () => total,
        waitFor: (text, from) => waitIn(() => tail.subarray(Math.max(0, from - (total - tail.byteLength) - text.length)), waiters, text),
        close: () => ws.terminate(),
      };
      ws.once('open', () => resolve({ term, openedAt: performance.now() }));
      ws.once('error', reject);
    }),
  };
}

function sandgateServer(child: ServerChild, url: string, key: TestKey, policy: AckPolicy): Server {
  let users = 0;
  return {
    name: 'sandgate',
    child,
    connect: async () => {
      users += 1;
      const token = signed(key, goodClaims({ sub: `bench-${users % 90}` }));
      const client = await BenchClient.connect(url, { token, ack: policy, ackDelayMs: ACK_DELAY_MS, tailBytes: TAIL_BYTES });
      const openedAt = performance.now();
      client.open({ type: 'open', kind: 'pty', argv: ['bash', '--norc', '--noprofile'], cols: 80, rows: 24, env: { PS1: PROMPT, TERM: 'dumb' } });
      const term: Term = {
        write: (data) => client.write(Buffer.from(data, 'latin1')),
        received: () => client.received,
        waitFor: (text, from) => client.waitFor(text, from, WAIT_MS),
        close: () => client.close(),
      };
      return { term, openedAt };
    },
  };
}

/** Resolves at the first check where `output()` (the part of the output after the wait's start) contains `text`. */
function waitIn(output: () => Buffer, waiters: Set<() => void>, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (output().includes(text)) {
        clearTimeout(timer);
        waiters.delete(check);
        resolve(performance.now());
      }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out waiting for "${text}"`));
    }, WAIT_MS);
    waiters.add(check);
    check();
  });
}

async function connectToPrompt(server: Server): Promise<number> {
  const { term, openedAt } = await server.connect();
  const at = await term.waitFor(PROMPT.slice(0, 4), 0);
  term.close();
  return at - openedAt;
}

/** One keystroke round trip on `term` (at its prompt): 'a' out → its echo back, ms. Then the byte is erased again (not measured). */
async function echoOnce(term: Term): Promise<number> {
  const from = term.received();
  const sentAt = performance.now();
  term.write('a');
  const at = await term.waitFor('a', from);
  const before = term.received();
  term.write('\x7f'); // keeps the line from growing
  await term.waitFor('\b', before);
  return at - sentAt;
}

/**
 * Echo samples for every server, interleaved sample by sample so that machine noise hits all
 * alike. `gapMs` apart (bench pacing, not synchronisation): 0 is a typist who presses the next
 * key the moment the echo appears, so any work left over from one keystroke lands on the
 * next; a few ms is a fast human typist, whose every keystroke meets an idle gateway and
 * idle CPUs.
 */
async function echoSamples(servers: readonly Server[], count: number, gapMs: number): Promise<Map<string, number[]>> {
  const terms = await Promise.all(servers.map(async (s) => {
    const { term } = await s.connect();
    await term.waitFor(PROMPT, 0);
    return term;
  }));
  const samples = new Map<string, number[]>(servers.map((s) => [s.name, []]));
  for (let i = 0; i < count; i += 1) {
    for (const [index, s] of servers.entries()) {
      const term = terms[index];
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (term !== undefined) samples.get(s.name)?.push(await echoOnce(term));
    }
  }
  for (const term of terms) term.close();
  return samples;
}

async function throughput(server: Server, bytes: number): Promise<{ mbPerSec: number; received: number }> {
  const { term } = await server.connect();
  await term.waitFor(PROMPT, 0);
  const from = term.received();
  const startedAt = performance.now();
  term.write(`head -c ${bytes} /dev/zero | base64; echo sg-done-$((1+1))\r`);
  await term.waitFor('sg-done-2', from);
  const seconds = (performance.now() - startedAt) / 1000;
  const received = term.received() - from;
  term.close();
  return { mbPerSec: received / 1e6 / seconds, received };
}

/** Opens `count` shells in batches of 5, each at its prompt; `afterBatch` runs after each batch. */
async function openIdle(server: Server, count: number, afterBatch: (open: number) => void = () => undefined): Promise<Term[]> {
  const terms: Term[] = [];
  for (let i = 0; i < count; i += 5) {
    const batch = await Promise.all(Array.from({ length: Math.min(5, count - i) }, async () => {
      const { term } = await server.connect();
      await term.waitFor(PROMPT, 0);
      return term;
    }));
    terms.push(...batch);
    afterBatch(terms.length);
  }
  return terms;
}

/** The least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return sxy / sxx;
}

/**
 * The server's RSS growth per idle session, at the margin: `count` sessions are opened first
 * (heap pages, lazily compiled code and pools grow in steps a fresh process takes once), then
 * `count` more, with the RSS read after every batch of 5. The figure is the slope of RSS over
 * sessions: a difference of two readings moved by a whole garbage collection (±1–4 MB, so
 * 163 KiB to −4 KiB per session over 150), a fit over 30 readings much less.
 */
async function rssPerIdleSession(server: Server, count: number): Promise<number> {
  const warm = await openIdle(server, count);
  const readings: [number, number][] = [];
  const measured = await openIdle(server, count, (open) => readings.push([open, server.child.rssBytes()]));
  for (const term of [...warm, ...measured]) term.close();
  return slope(readings);
}

function fmt(values: readonly number[] | undefined): string {
  return (values ?? []).map((v) => v.toFixed(1)).join('/');
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
}

/** Both servers, started afresh (new processes, so the scheduler places them anew). */
async function startServers(work: string, configFile: string, key: TestKey, children: ServerChild[]): Promise<Server[]> {
  const naiveChild = await startServerChild(process.execPath, [NAIVE_SERVER, '0'], /listening (\d+)/);
  children.push(naiveChild);
  const sgChild = await startServerChild(process.execPath, [SANDGATE_CLI, 'serve', '--config', configFile, '--port', '0'], /sessions at (ws:\/\/\S+?)\)/, { cwd: work });
  children.push(sgChild);
  return [naiveServer(naiveChild), sandgateServer(sgChild, sgChild.ready, key, ACK_POLICY)];
}

async function stopServers(children: ServerChild[]): Promise<void> {
  for (const child of children.splice(0).reverse()) await child.stop();
}

/**
 * One round of latency samples: fresh servers, a warm-up session each, then connects and echoes
 * interleaved: the first keys (fresh), WARM_ECHOES unmeasured ones, then the warm figures.
 */
interface RoundSamples {
  readonly connect: Map<string, number[]>;
  /** The first keystrokes of the fresh servers, back to back (the keystroke path not yet optimised). */
  readonly fresh: Map<string, number[]>;
  /** Keystrokes back to back, after the warm-up. */
  readonly echo: Map<string, number[]>;
  /** Keystrokes TYPING_GAP_MS apart. */
  readonly typed: Map<string, number[]>;
}

async function latencyRound(work: string, configFile: string, key: TestKey, children: ServerChild[]): Promise<RoundSamples> {
  const servers = await startServers(work, configFile, key, children);
  try {
    // Warm-up: one session each (JIT, lazily loaded modules), then interleaved samples.
    for (const s of servers) await connectToPrompt(s);
    const connect = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    for (let i = 0; i < CONNECTS; i += 1) for (const s of servers) connect.get(s.name)?.push(await connectToPrompt(s));
    const fresh = await echoSamples(servers, ECHOES, 0);
    await echoSamples(servers, WARM_ECHOES, 0);
    const echo = await echoSamples(servers, ECHOES, 0);
    return { connect, fresh, echo, typed: await echoSamples(servers, ECHOES, TYPING_GAP_MS) };
  } finally {
    await stopServers(children);
  }
}

function pooled(rounds: readonly Map<string, number[]>[], name: string): number[] {
  return rounds.flatMap((round) => round.get(name) ?? []);
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sandgate-bench-'));
  const keys = makeTestKeys();
  const configFile = path.join(work, 'sandgate.json');
  fs.writeFileSync(configFile, JSON.stringify({
    auth: { keys: keys.authKeys }, maxSessionsPerUser: 100, maxSessionsPerTenant: 1000, maxSessions: 1000, idleTimeoutMs: 0, pingIntervalMs: 0, resumeGraceMs: 0,
    // The naive server's shell may use both cores: so may the sandbox's, so that the figure is the gateway's overhead, not the CPU quota.
    limits: { cpuCores: 2 },
  }));
  const children: ServerChild[] = [];
  try {
    const connectRounds: Map<string, number[]>[] = [];
    const freshRounds: Map<string, number[]>[] = [];
    const echoRounds: Map<string, number[]>[] = [];
    const typedRounds: Map<string, number[]>[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const { connect, fresh, echo, typed } = await latencyRound(work, configFile, keys.ed, children);
      connectRounds.push(connect);
      freshRounds.push(fresh);
      echoRounds.push(echo);
      typedRounds.push(typed);
    }
    // Memory and throughput: a pair of fresh servers each. After throughput rounds the heap
    // that carried 64 MB shrinks for seconds (the RSS fell as sessions were added), and after
    // 300 sessions the sandboxes' teardown would run during the throughput rounds.
    const rss = new Map<string, number>();
    for (const s of await startServers(work, configFile, keys.ed, children)) rss.set(s.name, await rssPerIdleSession(s, IDLE));
    await stopServers(children);
    const servers = await startServers(work, configFile, keys.ed, children);
    // Throughput: THROUGHPUT_ROUNDS alternating rounds, the median of each server's.
    const rounds = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) for (const s of servers) rounds.get(s.name)?.push((await throughput(s, THROUGHPUT_BYTES)).mbPerSec);
    const thr = new Map<string, number>(servers.map((s) => [s.name, median(rounds.get(s.name) ?? [])]));

    const lines: [string, number, number, string][] = [];
    const roundRatios: string[] = [];
    // Targets hold for a gateway in its steady state; the fresh-server row is there to be seen.
    const latencyFigures = [
      ['connect-to-prompt', connectRounds, ''],
      ['keystroke echo, back to back', echoRounds, 'target ≤ 1.00x'],
      [`keystroke echo, ${TYPING_GAP_MS} ms apart`, typedRounds, 'target ≤ 1.00x'],
      [`keystroke echo, fresh server, first ${ECHOES}`, freshRounds, ''],
    ] as const;
    for (const [label, perRound, target] of latencyFigures) {
      const n = summarize('naive', pooled(perRound, 'naive'));
      const g = summarize('sandgate', pooled(perRound, 'sandgate'));
      lines.push([`${label} p50 (ms)`, n.p50Ms, g.p50Ms, target]);
      lines.push([`${label} p99 (ms)`, n.p99Ms, g.p99Ms, '']);
      const ratios = perRound.map((round) => summarize('sandgate', round.get('sandgate') ?? []).p50Ms / summarize('naive', round.get('naive') ?? []).p50Ms);
      roundRatios.push(`${label} p50 ratio per round ${ratios.map((r) => r.toFixed(2)).join(' ')} (median ${median(ratios).toFixed(2)})`);
    }
    lines.push([`throughput, ${values.mb} MB base64, median of ${THROUGHPUT_ROUNDS} (MB/s)`, thr.get('naive') ?? NaN, thr.get('sandgate') ?? NaN, 'target ≥ 0.90x']);
    lines.push([`RSS per idle session, ${IDLE} more after ${IDLE} (KiB)`, (rss.get('naive') ?? NaN) / 1024, (rss.get('sandgate') ?? NaN) / 1024, '']);
    const widths = [52, 10, 10, 8, 16];
    process.stdout.write(`${row(['figure', 'naive', 'sandgate', 'ratio', ''], widths)}\n${'-'.repeat(104)}\n`);
    for (const [label, n, g, target] of lines) {
      const digits = label.startsWith('keystroke') ? 3 : 2;
      process.stdout.write(`${row([label, n.toFixed(digits), g.toFixed(digits), `${(g / n).toFixed(2)}x`, target], widths)}\n`);
    }
    for (const line of roundRatios) process.stdout.write(`${line}\n`);
    process.stdout.write(`samples: ${ROUNDS} rounds of fresh servers, each with connect ${CONNECTS}, echo ${ECHOES} on the fresh servers, ${WARM_ECHOES} unmeasured, then echo ${ECHOES} back to back and ${ECHOES} ${TYPING_GAP_MS} ms apart per server, interleaved, pooled; throughput rounds naive ${fmt(rounds.get('naive'))}, sandgate ${fmt(rounds.get('sandgate'))} MB/s; sandgate client acks ${ACK_POLICY}\n`);
    process.stdout.write(`RSS is the server process's own (VmRSS); the shells (naive) and sandboxes (sandgate) are other processes. Host ${os.cpus().length} CPUs, Node ${process.version}\n`);
  } finally {
    await stopServers(children);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
