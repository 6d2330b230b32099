/**
 * `sandgate serve` on a host where it cannot sandbox refuses to start (server/cli/serve-command.ts:
 * "the host can sandbox (the doctor's required checks: never serve unsandboxed)"): exit 69
 * and SG_HOST_UNSUPPORTED (docs/errors.md), each failing check with its reason and its fix,
 * and it never listens. The host that cannot sandbox is this one seen by an unprivileged user:
 * serve runs as nobody (uid/gid 65534; node drops the supplementary groups), which fails the
 * doctor's required `root` check. The repository and node are world-readable here, so nobody
 * can run the CLI; the configuration comes in flags, as nobody cannot read a root-only file.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';

import { within } from '../support/wait-until.js';

const CLI = fileURLToPath(new URL('../../../../bin/sandgate.js', import.meta.url));
const NOBODY = 65534;
const EXIT_MS = 20_000;

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sandgate <args>` as nobody, to its end (bounded). */
async function runAsNobody(args: readonly string[]): Promise<Outcome> {
  // cwd `/` and an empty environment: nothing of root's (HOME, a root-only directory) is needed.
  const child = spawn(process.execPath, [CLI, ...args], { uid: NOBODY, gid: NOBODY, cwd: '/', env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const closed = new Promise<Outcome>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  try {
    return await within(() => `sandgate ${args[0] ?? ''} as nobody to end (stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`, EXIT_MS, closed);
  } finally {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
}

/** A TCP port on 127.0.0.1 held by this test until `close()`. */
async function holdPort(): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${String(address)}`);
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface DoctorRow {
  readonly name: string;
  readonly status: string;
  readonly detail: string;
  readonly fix: string | undefined;
  readonly required: boolean;
}

/** `sandgate doctor --json` output: {"ok", "checks": [{"name", "status", "detail", "fix", "required"}]} (doctor-command.ts). */
function parseDoctorReport(text: string): { readonly ok: boolean; readonly checks: readonly DoctorRow[] } {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('ok' in parsed) || !('checks' in parsed) || typeof parsed.ok !== 'boolean' || !Array.isArray(parsed.checks)) {
    throw new Error(`not a doctor report: ${text}`);
  }
  const checks = parsed.checks.map((row: unknown): DoctorRow => {
    if (typeof row !== 'object' || row === null) throw new Error(`not a doctor check: ${JSON.stringify(row)}`);
    const fields = new Map<string, unknown>(Object.entries(row));
    const [name, status, detail, fix, required] = ['name', 'status', 'detail', 'fix', 'required'].map((key) => fields.get(key));
    if (typeof name !== 'string' || typeof status !== 'string' || typeof detail !== 'string' || (fix !== undefined && typeof fix !== 'string') || typeof required !== 'boolean') {
      throw new Error(`not a doctor check: ${JSON.stringify(row)}`);
    }
    return { name, status, detail, fix, required };
  });
  return { ok: parsed.ok, checks };
}

test('serve run by an unprivileged user exits 69 with SG_HOST_UNSUPPORTED, each failing check with its reason and fix, before it ever listens', async (t) => {
  t.is(process.getuid?.(), 0, 'this test drops from root to nobody');
  const pair = generateKeyPairSync('ed25519');
  const keys = [{ kid: 'host-check', alg: 'EdDSA', publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() }];
  // A valid configuration on a port this test holds: had serve got as far as listening, it
  // would fail there instead (exit 78, "already in use"). 69 proves it stopped before.
  const held = await holdPort();
  t.teardown(() => held.close());

  const serve = await runAsNobody(['serve', '--host', '127.0.0.1', '--port', String(held.port), '--auth-keys', JSON.stringify(keys)]);
  t.is(serve.signal, null);
  t.is(serve.code, 69, serve.stderr);
  t.regex(serve.stderr, /\[SG_HOST_UNSUPPORTED\]\s*$/, 'the last line ends with the registry code');
  t.regex(serve.stderr, /never serves unsandboxed/);
  // The reason and the fix of the check nobody fails, as the doctor words them.
  t.regex(serve.stderr, /^ {2}root: not root or no CAP_SYS_ADMIN \(fix: run sandgate as root\b[^\n]*\)$/m);
  t.notRegex(serve.stderr, /already in use|\[SG_CONFIG_INVALID\]/);
  t.notRegex(`${serve.stdout}${serve.stderr}`, /listening on/);
  t.is(serve.stdout, '', 'nothing on stdout: no "listening on" line, no URL');

  // The same user's doctor agrees: every required check it reports MISSING is in serve's refusal, with its fix.
  const doctor = await runAsNobody(['doctor', '--json']);
  t.is(doctor.code, 69, doctor.stderr);
  const report = parseDoctorReport(doctor.stdout);
  t.false(report.ok);
  const missing = report.checks.filter((row) => row.required && row.status === 'MISSING');
  t.true(missing.some((row) => row.name === 'root'), JSON.stringify(missing));
  for (const row of missing) {
    t.true(serve.stderr.includes(`${row.name}: ${row.detail}${row.fix === undefined ? '' : ` (fix: ${row.fix})`}`), `serve names the failing check "${row.name}" with its reason and fix`);
  }
});
