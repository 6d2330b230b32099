/**
 * infra/ cannot run here (no Docker engine, no cluster), so it is checked statically: every
 * command line in it must be one the gateway's own config loader accepts, and every probe
 * must name a route the HTTP server answers. A renamed flag or route breaks this test.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGatewayConfig } from '../../server/config/load-config.js';
import { RESERVED_HTTP_PATHS } from '../../server/config/gateway-config.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const infra = (path: string): string => readFileSync(join(root, 'infra', path), 'utf8');

/** The JSON-array form of a Dockerfile instruction (exec form), e.g. CMD ["serve", ...]. */
function execForm(dockerfile: string, instruction: string): string[] {
  const line = dockerfile.split('\n').find((l) => l.startsWith(`${instruction} [`));
  if (line === undefined) throw new Error(`no exec-form ${instruction} in the Dockerfile`);
  const parsed: unknown = JSON.parse(line.slice(instruction.length + 1));
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) throw new Error(`${instruction} is not a string array`);
  return parsed;
}

const configFile = JSON.stringify({});
const readFile = async (): Promise<string> => configFile;

test('the Dockerfile runs the CLI and its CMD is a serve command line the config loader accepts', async (t) => {
  const dockerfile = infra('docker/Dockerfile');
  t.deepEqual(execForm(dockerfile, 'ENTRYPOINT'), ['node', 'bin/sandgate.js']);
  const cmd = execForm(dockerfile, 'CMD');
  t.is(cmd[0], 'serve');
  const config = await loadGatewayConfig({ argv: cmd.slice(1), env: {}, cwd: '/', readFile });
  t.is(config.host, '0.0.0.0');
  t.regex(dockerfile, new RegExp(`EXPOSE ${config.port}\\b`));
  t.regex(dockerfile, /127\.0\.0\.1:8080\/healthz/);
});

test('the systemd unit starts serve with flags the config loader accepts and drains on SIGTERM', async (t) => {
  const unit = infra('systemd/sandgate.service');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
  const serveAt = exec.indexOf('serve');
  t.true(serveAt > 0, 'ExecStart runs `sandgate serve`');
  await t.notThrowsAsync(loadGatewayConfig({ argv: exec.slice(serveAt + 1), env: {}, cwd: '/', readFile }));
  t.regex(unit, /^KillSignal=SIGTERM$/m);
  t.regex(unit, /^Delegate=yes$/m, 'the gateway creates cgroups below its own: systemd must delegate the subtree');
});

test('the Kubernetes probes name routes the HTTP server answers, on the port serve listens on', async (t) => {
  const deployment = infra('k8s/deployment.yaml');
  const paths = [...deployment.matchAll(/path: (\/[A-Za-z0-9_/-]*)/g)].map((m) => m[1]);
  t.deepEqual(paths, ['/readyz', '/healthz']);
  for (const path of paths) t.true(path !== undefined && RESERVED_HTTP_PATHS.includes(path), `${path} is a route of the gateway`);
  const args = /args: (\[.*\])/.exec(deployment)?.[1];
  t.truthy(args);
  const argv: unknown = JSON.parse(args ?? '[]');
  t.true(Array.isArray(argv));
  const list = Array.isArray(argv) ? argv.map(String) : [];
  const config = await loadGatewayConfig({ argv: list.slice(1), env: {}, cwd: '/', readFile });
  t.regex(deployment, new RegExp(`containerPort: ${config.port}\\b`));
});

test('the Redis config binds loopback only and keeps protected mode', (t) => {
  const conf = infra('redis/redis.conf');
  t.regex(conf, /^bind 127\.0\.0\.1 ::1$/m);
  t.regex(conf, /^protected-mode yes$/m);
});
