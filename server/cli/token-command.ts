import { parseArgs } from 'node:util';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import { parseAuthConfig, type AuthConfig } from '../auth/auth-config.js';
import { generateDevKeys } from '../auth/dev-keys.js';
import type { TokenLimits } from '../auth/effective-limits.js';
import { readKeyFile } from '../auth/key-store.js';
import { isScope, type Scope } from '../auth/principal.js';
import { checkTokenRequest, chooseSigningKey, loadSigningKey, signToken, type TokenRequest } from '../auth/token-signer.js';

export const TOKEN_USAGE = `Usage: sandgate token --tenant T --user U [options]

Mints a token signed with a configured signing key and prints it on stdout (only the token,
so TOKEN=$(sandgate token ...) works); a summary goes to stderr.

  --tenant T          tenant claim (1–128 chars of A-Za-z0-9._@-)
  --user U            sub claim (same charset)
  --ttl D             lifetime: 90s, 30m, 1h (default), 2d, or plain seconds; at most auth.maxLifetimeMs
  --scope S[,S]       pty, exec, attach (default: auth.defaultScopes)
  --limit NAME=VALUE  lower a limit (memoryBytes, pids, cpuCores, sessions, timeLimitMs); repeatable
  --kid K             signing key to use when several are configured
  --config FILE       gateway config (JSON) whose "auth" section has the signing keys
  --dev-keys DIR      sign with the development key in DIR (what "npm start" uses)
  --json              print {"token", "kid", "tokenId", "expiresAt"} instead of the bare token
  -h, --help          this text
`;

export interface TokenCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /**
   * The auth section to sign with. The default reads `--config FILE` as JSON and validates its
   * `auth` member; the CLI dispatcher may pass the config module's loader instead.
   */
  readonly loadAuthConfig: (configFile: string | undefined) => Promise<AuthConfig>;
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

    let config: AuthConfig;
    if (values['dev-keys'] !== undefined) {
      const dev = await generateDevKeys(values['dev-keys']);
      config = parseAuthConfig({});
      config = Object.freeze({ ...config, signingKeys: [dev.signingKey] });
    } else {
      config = await (io.loadAuthConfig ?? loadAuthConfigFile)(values.config);
    }

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

async function loadAuthConfigFile(configFile: string | undefined): Promise<AuthConfig> {
  if (configFile === undefined) usage('no signing key: pass --config FILE (its auth.signingKeys) or --dev-keys DIR');
  let document: unknown;
  try {
    document = JSON.parse(await readKeyFile(configFile, '--config'));
  } catch (error) {
    if (isSandgateError(error)) throw error;
    // No cause: V8's JSON errors quote the text, and a config file may hold secrets.
    throw new SandgateError('SG_CONFIG_INVALID', `--config names ${configFile}, which is not valid JSON.`, { option: '--config' });
  }
  const auth = typeof document === 'object' && document !== null && 'auth' in document ? document.auth : undefined;
  return parseAuthConfig(auth);
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
