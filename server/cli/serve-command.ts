import { loadGatewayConfig, gatewayConfigUsage } from '../config/load-config.js';
import { devBanner, mintDevToken, prepareDevMode, type DevMode } from '../config/dev-mode.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import { startGateway, type Gateway } from '../http/gateway.js';
import { createGatewayMetrics, type GatewayMetrics } from '../http/gateway-metrics.js';
import { createRequestLog, type RequestLog } from '../http/request-log.js';
import { EmbeddedQuotaStore } from '../quota/embedded-quota-store.js';
import { SandboxRunner } from '../sandbox/sandbox-runner.js';
import { SessionHost } from '../session/session-host.js';
import { doctorChecks, gatherHostFacts } from './doctor-command.js';

/**
 * `sandgate serve`: the gateway. In order, each step failing with its registry code:
 *
 *   config (flags > env > file > defaults) → the host can sandbox (the doctor's required
 *   checks: never serve unsandboxed) → dev keys (--dev) → the sandbox runner, and the reaping
 *   of what a crashed predecessor left → the session host → the gateway, listening →
 *   "listening on …" (and in dev mode a ready token) → until SIGTERM or SIGINT.
 *
 * Shutdown (SIGTERM/SIGINT): the gateway drains — it admits nothing new, sessions get a
 * shutting-down notice with the deadline, and drainTimeoutMs to end; then the remaining
 * connections close with 1001, every session is disposed (sandbox killed, cgroup removed,
 * lease released) and the command returns 0. The same signal again stops at once.
 */

export const SERVE_USAGE = `Usage: sandgate serve [--config FILE] [--host H] [--port N] [--dev] [options]

Runs the gateway: every authenticated WebSocket session at ws://HOST:PORT/v1/sessions gets a
fresh sandbox. --dev (loopback only) makes a development key under the state directory and
prints a ready token. SIGTERM or SIGINT drains (drainTimeoutMs), a second one stops at once.
Every option can also be set in the environment or a JSON file (docs/operations.md):

${gatewayConfigUsage()}
  -h, --help
`;

export interface ServeIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Starts listening for the shutdown signals (before anything else starts, so none is lost). */
  readonly signals: () => ShutdownSignals;
}

export interface ShutdownSignals {
  /** Resolves with the name of the first shutdown signal. */
  readonly first: Promise<string>;
  /** Called on every later one (stop at once). */
  onAgain(listener: () => void): void;
  /** Stops listening. */
  dispose(): void;
}

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** SIGTERM and SIGINT of this process. Listening replaces Node's default (exit at once). */
export function processSignals(): ShutdownSignals {
  let resolveFirst: (signal: string) => void = () => undefined;
  const first = new Promise<string>((resolve) => {
    resolveFirst = resolve;
  });
  let seen = false;
  let again: () => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (seen) return again();
    seen = true;
    resolveFirst(signal);
  };
  for (const name of SHUTDOWN_SIGNALS) process.on(name, onSignal);
  return {
    first,
    onAgain: (listener) => {
      again = listener;
    },
    dispose: () => {
      for (const name of SHUTDOWN_SIGNALS) process.off(name, onSignal);
    },
  };
}

const DEFAULT_IO: ServeIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  signals: processSignals,
};

/** Returns the exit status: 0 after a clean shutdown, else the registry's code. */
export async function runServeCommand(argv: readonly string[], io: ServeIo = DEFAULT_IO): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  const say = (text: string): void => io.stderr(`sandgate serve: ${text}\n`);
  const cleanups: (() => Promise<void>)[] = [];
  // A signal during start-up is kept and acted on once everything started can be stopped.
  const signals = io.signals();
  try {
    let config = await loadGatewayConfig({ argv });
    await refuseUnsupportedHost();
    let dev: DevMode | undefined;
    if (config.dev) {
      dev = await prepareDevMode(config);
      config = dev.config;
    }
    const runner = await SandboxRunner.open({ uidRange: config.uidRange });
    const reaped = await runner.reapStale();
    if (reaped.removed.length > 0) say(`removed ${reaped.removed.length} sandbox cgroup(s) left by a previous run`);
    if (reaped.reports.length > 0) say(`removed ${reaped.reports.length} launcher report file(s) left by a previous run`);
    for (const { name, error } of reaped.failed) say(`warning: could not remove the stale cgroup ${name}: ${error instanceof Error ? error.message : String(error)}`);

    const store = quotaStoreFor(config);
    cleanups.push(() => store.close());
    const log = createRequestLog();
    const metrics = createGatewayMetrics();
    const host = new SessionHost({ config, runner, quotaStore: store, log, metrics });
    cleanups.unshift(() => host.close());
    const gateway = await listen(config, host, store, metrics, log);
    cleanups.unshift(() => gateway.close());

    io.stdout(`sandgate: listening on ${gateway.url} (sessions at ${gateway.sessionsUrl})\n`);
    // The dev token is the point of dev mode, printed to the terminal only (never to the log).
    if (dev !== undefined) io.stdout(devBanner({ httpUrl: gateway.url, sessionsUrl: gateway.sessionsUrl }, await mintDevToken(dev)));

    const signal = await signals.first;
    signals.onAgain(() => {
      say('stopping now');
      void gateway.close();
      void host.close();
    });
    say(`${signal}: draining ${host.sessionCount} session(s) for up to ${config.drainTimeoutMs} ms; send it again to stop at once`);
    await gateway.drain();
    await host.close();
    await store.close();
    cleanups.length = 0;
    say('stopped');
    return 0;
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined); // the start-up error is what matters
    if (!isSandgateError(error)) throw error;
    say(`${error.message} [${error.code}]`);
    if (error.code === 'SG_USAGE') say('run "sandgate serve --help" for the options');
    return error.exitCode;
  } finally {
    signals.dispose();
  }
}

/** The doctor's required checks: a gateway that cannot sandbox must not serve at all. */
async function refuseUnsupportedHost(): Promise<void> {
  const missing = doctorChecks(await gatherHostFacts()).filter((check) => check.required && check.status === 'MISSING');
  if (missing.length === 0) return;
  const lines = missing.map((check) => `${check.name}: ${check.detail}${check.fix === undefined ? '' : ` (fix: ${check.fix})`}`);
  throw new SandgateError(
    'SG_HOST_UNSUPPORTED',
    `this host cannot run sandboxes, and sandgate never serves unsandboxed:\n  ${lines.join('\n  ')}\n(see "sandgate doctor")`,
    { checks: missing.map((check) => check.name) },
  );
}

function quotaStoreFor(config: GatewayConfig): EmbeddedQuotaStore {
  if (config.redisUrl !== undefined) {
    throw new SandgateError('SG_CONFIG_INVALID', 'redisUrl (REDIS_URL) is set, but this sandgate serve has no Redis quota store wired in yet: unset it to run one node with the in-process store.', { option: 'redisUrl' });
  }
  return new EmbeddedQuotaStore({ leaseTtlMs: config.leaseTtlMs });
}

async function listen(
  config: GatewayConfig,
  host: SessionHost,
  store: EmbeddedQuotaStore,
  metrics: GatewayMetrics,
  log: RequestLog,
): Promise<Gateway> {
  try {
    return await startGateway(config, {
      onSession: host.onSession,
      quotaStore: store,
      metrics,
      log,
      hostLoad: () => host.load(),
      readiness: () => host.readiness(),
      onDrain: (drain) => host.drain(drain),
    });
  } catch (error) {
    if (isSandgateError(error, 'SG_CONFIG_INVALID') && errnoOf(error.cause) === 'EADDRINUSE') {
      throw new SandgateError(
        'SG_CONFIG_INVALID',
        `port ${config.port} on ${config.host} is already in use: stop what listens there, or choose another port with --port N (--port 0 picks a free one)`,
        { option: 'port' },
        { cause: error },
      );
    }
    throw error;
  }
}

function errnoOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
