import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import type { AuthConfig } from '../auth/auth-config.js';
import { DEV_PRIVATE_KEY_FILE, generateDevKeys } from '../auth/dev-keys.js';
import type { TokenLimits } from '../auth/effective-limits.js';
import { isScope, type Scope } from '../auth/principal.js';
import { checkTokenRequest, chooseSigningKey, loadSigningKey, signToken, type TokenRequest } from '../auth/token-signer.js';
import { DEV_KEYS_SUBDIR } from '../config/dev-mode.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { loadGatewayConfig } from '../config/load-config.js';

export const TOKEN_USAGE = `Usage: sandgate token --tenant T --user U [options]

Mints a token signed with a configured signing key and prints it on stdout (only the token,
so TOKEN=$(sandgate token ...) works); a summary goes to stderr.

  --tenant T          tenant claim (1–128 chars of A-Za-z0-9._@-)
  --user U            sub claim (same charset)
  --ttl D             lifetime: 90s, 30m, 1h (default), 2d, or plain seconds; at most auth.maxLifetimeMs
  --scope S[,S]       pty, exec, attach (default: auth.defaultScopes)
  --limit NAME=VALUE  lower a limit (memoryBytes, pids, cpuCores, sessions, timeLimitMs); repeatable
  --kid K             signing key to use when several are configured
  --config FILE       gateway config (JSON), read as "sandgate serve" reads it (with
                      SANDGATE_CONFIG and the SANDGATE_* environment): its auth.signingKeys
                      sign, its issuer and audience go into the token
  --dev-keys DIR      sign with the development key in DIR
                      (default when no signing key is configured: the key "npm start" made,
                      under the state directory, if there is one)
  --json              print {"token", "kid", "tokenId", "expiresAt"} instead of the bare token
  -h, --help          this text
`;

export interface TokenCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /**
   * The gateway config the token is for, from the sources `serve` reads (the file named by
   * --config or SANDGATE_CONFIG, the SANDGATE_* environment). Tests pass their environment.
   */
  readonly loadConfig: (configFile: string | undefined) => Promise<GatewayConfig>;
  /** The clock, ms since the epoch. */
  readonly nowMs: () => number;
}

const DEFAULT_TTL_MS = 3600 * 1000;
const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `sandgate token`: returns the process exit code (0, or the registry's code for the refusal). */
export async function runTokenCommand(argv: string[], io: Partial<TokenCommandIo> = {}): Promise<number> {
  const stdout = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => void process.stderr.write(text));
  try {
    const { values } = parseFlags(argv);
    if (values.help === true) {
      stdout(TOKEN_USAGE);
      return 0;
    }
    const tenant = required(values.tenant, '--tenant');
    const user = required(values.user, '--user');
    if (values.config !== undefined && values['dev-keys'] !== undefined) usage('--config and --dev-keys both name a key: pass one');

    const gateway = await (io.loadConfig ?? loadConfigOf)(values.config);
    const signer = await signingConfig(gateway, values['dev-keys']);
    if (signer.devKeysDir !== undefined && values['dev-keys'] === undefined) stderr(`sandgate token: no signing key is configured: signing with the development key in ${signer.devKeysDir} (what "npm start" uses)\n`);
    const config = signer.auth;

    const source = chooseSigningKey(config.signingKeys, values.kid);
    if (typeof source === 'string') usage(source);
    const request: TokenRequest = {
      tenant,
      user,
      ttlMs: values.ttl === undefined ? Math.min(DEFAULT_TTL_MS, config.maxLifetimeMs) : parseDuration(values.ttl),
      scopes: values.scope === undefined ? config.defaultScopes : parseScopeFlag(values.scope),
      limits: parseLimitFlags(values.limit ?? []),
      nowMs: (io.nowMs ?? Date.now)(),
    };
    const problem = checkTokenRequest(request, config);
    if (problem !== undefined) usage(problem);

    const minted = signToken(await loadSigningKey(source), request, config);
    const expiresAt = new Date(minted.expiresAtMs).toISOString();
    stdout(values.json === true ? `${JSON.stringify({ token: minted.token, kid: minted.kid, tokenId: minted.tokenId, expiresAt })}\n` : `${minted.token}\n`);
    stderr(`sandgate token: user ${user} in tenant ${tenant}, scopes ${request.scopes.join(',')}, key ${minted.kid}, expires ${expiresAt}\n`);
    return 0;
  } catch (error) {
    if (!isSandgateError(error)) throw error;
    stderr(`sandgate token: ${error.message} [${error.code}]\n`);
    if (error.code === 'SG_USAGE') stderr('Run "sandgate token --help" for the options.\n');
    return error.exitCode;
  }
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        tenant: { type: 'string' },
        user: { type: 'string' },
        ttl: { type: 'string' },
        scope: { type: 'string' },
        limit: { type: 'string', multiple: true },
        kid: { type: 'string' },
        config: { type: 'string' },
        'dev-keys': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs names the offending flag in its message (ERR_PARSE_ARGS_*).
    throw new SandgateError('SG_USAGE', error instanceof Error ? error.message : 'The options could not be parsed.', {}, { cause: error });
  }
}

function loadConfigOf(configFile: string | undefined): Promise<GatewayConfig> {
  return loadGatewayConfig({ argv: configFile === undefined ? [] : ['--config', configFile] });
}

/**
 * The auth section to sign with: the configured signing keys; or, with --dev-keys DIR, the
 * development key there (made if missing); or, when nothing is configured, the development
 * key `serve --dev` keeps under the state directory, if it made one. Issuer, audience, scopes
 * and lifetimes are the gateway's, so that the token passes the gateway they configure.
 */
async function signingConfig(gateway: GatewayConfig, devKeysFlag: string | undefined): Promise<{ auth: AuthConfig; devKeysDir?: string }> {
  const devKeysDir = devKeysFlag ?? (gateway.auth.signingKeys.length === 0 ? await existingDevKeys(gateway.stateDir) : undefined);
  if (devKeysDir === undefined) {
    if (gateway.auth.signingKeys.length === 0) {
      usage(`no signing key: set auth.signingKeys (in --config FILE, or SANDGATE_AUTH_SIGNING_KEYS), or pass --dev-keys DIR ("npm start" keeps one in ${join(gateway.stateDir, DEV_KEYS_SUBDIR)})`);
    }
    return { auth: gateway.auth };
  }
  const dev = await generateDevKeys(devKeysDir);
  return { auth: Object.freeze({ ...gateway.auth, signingKeys: [dev.signingKey] }), devKeysDir };
}

async function existingDevKeys(stateDir: string): Promise<string | undefined> {
  const dir = join(stateDir, DEV_KEYS_SUBDIR);
  try {
    await access(join(dir, DEV_PRIVATE_KEY_FILE));
    return dir;
  } catch {
    return undefined;
  }
}

/** `90s`, `30m`, `1h`, `2d`, `500ms`, or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(text.trim());
  const unit = DURATION_UNITS_MS[match?.[2] ?? 's'];
  if (match?.[1] === undefined || unit === undefined) usage(`--ttl ${JSON.stringify(text)} is not a duration such as 90s, 30m, 1h or 2d`);
  return Number(match[1]) * unit;
}

function parseScopeFlag(text: string): Scope[] {
  const names = text.split(/[\s,]+/).filter((name) => name !== '');
  const scopes: Scope[] = [];
  for (const name of names) {
    if (!isScope(name)) usage(`--scope ${JSON.stringify(name)} is not one of pty, exec, attach`);
    scopes.push(name);
  }
  return scopes;
}

function parseLimitFlags(entries: readonly string[]): TokenLimits {
  const limits: Record<string, number> = {};
  for (const entry of entries) {
    const match = /^([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(entry);
    if (match?.[1] === undefined || match[2] === undefined) usage(`--limit ${JSON.stringify(entry)} is not NAME=NUMBER`);
    limits[match[1]] = Number(match[2]);
  }
  // checkTokenRequest validates names and values against the claim's own rules.
  return limits;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') usage(`${flag} is required`);
  return value;
}

function usage(problem: string): never {
  throw new SandgateError('SG_USAGE', `${problem.charAt(0).toUpperCase()}${problem.slice(1)}.`);
}
