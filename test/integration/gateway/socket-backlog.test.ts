/**
 * The socket backlog limit (server/session/session-connection.ts): flow control bounds what a
 * client was sent and has not acknowledged, not what it has read, so a client that
 * acknowledges output without reading it would have the gateway queue frames for it without
 * end. Real sockets on both sides: a ws server whose connection is a SessionConnection, and a
 * ws client whose TCP socket stops reading while it keeps sending acks for every byte the
 * server sent. Once the kernel's socket buffers are full, the frames pile up in the gateway's
 * own queue until the limit, where the connection is cut; a client that reads is never cut.
 */
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

import { CEILING_FRAME_LIMITS, DEFAULT_SESSION_LIMITS, encodeClientFrame, SUBPROTOCOL, type ClientFrame } from '../../../client-sdk/src/protocol/index.js';
import type { LogRecord, RequestLog } from '../../../server/http/request-log.js';
import { SessionConnection } from '../../../server/session/session-connection.js';

const WINDOW_BYTES = 64 * 1024;
const LIMIT_BYTES = 256 * 1024;
/** Payload per output frame: the whole window, acknowledged at once by the client. */
const CHUNK = new Uint8Array(WINDOW_BYTES - 64).fill(0x61);
/** Far more than the kernel's loopback socket buffers (a few MiB each way) plus the limit. */
const MAX_ROUNDS = 1500;

interface Pair {
  readonly server: SessionConnection;
  readonly client: WebSocket;
  readonly logs: LogRecord[];
  /** Resolves at the next frame the server's connection passes to its handler. */
  nextFrame(): Promise<ClientFrame>;
}

async function connectionPair(t: ExecutionContext): Promise<Pair> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: () => SUBPROTOCOL });
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await once(wss, 'listening');
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  const logs: LogRecord[] = [];
  const log: RequestLog = (record) => void logs.push(record);
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${address.port}`, [SUBPROTOCOL], { perMessageDeflate: false });
  t.teardown(() => client.terminate());
  const [ws] = await accepted;
  await once(client, 'open');
  const server = new SessionConnection(ws, CEILING_FRAME_LIMITS, LIMIT_BYTES, log);
  const frames: ClientFrame[] = [];
  const waiters: ((frame: ClientFrame) => void)[] = [];
  server.bind({
    frame: (frame) => {
      const waiter = waiters.shift();
      if (waiter === undefined) frames.push(frame);
      else waiter(frame);
    },
    closed: () => undefined,
  });
  const nextFrame = (): Promise<ClientFrame> => {
    const queued = frames.shift();
    return queued === undefined ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve(queued);
  };
  return { server, client, logs, nextFrame };
}

function clientSend(client: WebSocket, frame: ClientFrame): void {
  const encoded = encodeClientFrame(frame, CEILING_FRAME_LIMITS);
  if (!encoded.ok) throw new Error(encoded.error.message);
  client.send(encoded.payload);
}

/**
 * Opens a session on the pair, then repeats: the server sends a window of output, the client
 * acknowledges all of it (whether it read it or not), the server takes the ack. Returns the
 * rounds done before the server's send was refused (MAX_ROUNDS when it never was).
 */
async function flood(pair: Pair): Promise<number> {
  clientSend(pair.client, { type: 'open', kind: 'exec', argv: ['x'] });
  await pair.nextFrame();
  pair.server.send({ type: 'hello', sessionId: 'sess_backlog01', resumeToken: 'rt_AAAAAAAAAAAAAAAAAAAAAA', kind: 'exec', resumed: false, outputOffset: 0, stdinOffset: 0, stdinClosed: false, limits: { ...DEFAULT_SESSION_LIMITS, outputWindowBytes: WINDOW_BYTES } });
  let offset = 0;
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    if (!pair.server.send({ type: 'output', channel: 'stdout', offset, stdinAck: 0, data: CHUNK })) return round;
    offset += CHUNK.byteLength;
    clientSend(pair.client, { type: 'ack', offset });
    await pair.nextFrame();
  }
  return MAX_ROUNDS;
}

test('a client that acks output it never reads is cut once its unread frames pass the limit; the close reaches the handler', async (t) => {
  const pair = await connectionPair(t);
  // The client's TCP socket stops reading (ws keeps no public switch for this): what the server
  // sends stays in the kernel's buffers, then in the gateway's queue.
  (pair.client as unknown as { _socket: Socket })._socket.pause();
  const closed = new Promise<void>((resolve) => pair.server.onceClosed(resolve));
  const rounds = await flood(pair);
  t.true(rounds < MAX_ROUNDS, `cut after ${rounds} rounds of ${CHUNK.byteLength} bytes`);
  await closed;
  t.true(pair.server.isClosed);
  const record = pair.logs.find((entry) => entry['event'] === 'session.client-backlog');
  t.truthy(record, 'the cut is logged');
  t.true(Number(record?.['bufferedBytes']) <= LIMIT_BYTES + WINDOW_BYTES + 1024, `${String(record?.['bufferedBytes'])} bytes were queued when it was cut`);
});

test('a client that reads what it acks is never cut, however long the flood', async (t) => {
  const pair = await connectionPair(t);
  t.is(await flood(pair), MAX_ROUNDS);
  t.false(pair.server.isClosed);
  t.deepEqual(pair.logs.filter((entry) => entry['event'] === 'session.client-backlog'), []);
});
