// The baseline of test/bench/gateway.bench.ts: the naive terminal server most tutorials show.
// ws + node-pty, one bash per connection, output sent as it comes, input written as it comes.
// No auth, no sandbox, no flow control, no framing: what sandgate's overhead is measured against.
// Usage: node naive-server.js PORT (0 = ephemeral); prints `listening <port>` when ready.
import { spawn } from 'node-pty';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), perMessageDeflate: false });
wss.on('listening', () => process.stdout.write(`listening ${wss.address().port}\n`));
wss.on('connection', (ws, req) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const argv = url.searchParams.getAll('argv');
  const [file, ...args] = argv.length > 0 ? argv : ['bash', '--norc', '--noprofile'];
  const term = spawn(file, args, {
    cols: 80, rows: 24, cwd: '/tmp', encoding: null,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'dumb', PS1: url.searchParams.get('ps1') ?? '$ ', HOME: '/tmp' },
  });
  term.onData((data) => ws.send(data, { binary: true }));
  term.onExit(() => ws.close(1000));
  ws.on('message', (data) => term.write(Buffer.from(data)));
  ws.on('close', () => term.kill('SIGKILL'));
});
process.on('SIGTERM', () => process.exit(0));
