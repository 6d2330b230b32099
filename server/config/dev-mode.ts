import { join } from 'node:path';
import { generateDevKeys, type DevKeys } from '../auth/dev-keys.js';
import { loadSigningKey, signToken, type MintedToken } from '../auth/token-signer.js';
import { SandgateError } from '../errors/sandgate-error.js';
import { deepFreeze } from './config-fields.js';
import type { GatewayConfig } from './gateway-config.js';

/**
 * `sandgate serve --dev` (what `npm start` runs): a development keypair under the state
 * directory is added to the verification and signing keys, so the gateway can print a URL and
 * a token that work at once. The config module has already refused dev mode on a host that is
 * not loopback (config-conflicts.ts), so the printed token only opens this machine's gateway.
 */

export interface DevMode {
  /** The config with the dev key appended to auth.keys and auth.signingKeys; frozen. */
  readonly config: GatewayConfig;
  readonly keys: DevKeys;
}

/** Subdirectory of stateDir that holds the dev keypair (0700, files 0600). */
export const DEV_KEYS_SUBDIR = 'dev-keys';

export async function prepareDevMode(config: GatewayConfig): Promise<DevMode> {
  if (!config.dev) throw new SandgateError('SG_CONFIG_INVALID', 'prepareDevMode needs dev mode (--dev).', { option: 'dev' });
  if (!config.stateDir.startsWith('/')) {
    throw new SandgateError('SG_CONFIG_INVALID', 'dev mode keeps its keys under stateDir, which is not set to an absolute path.', { option: 'stateDir' });
  }
  const keys = await generateDevKeys(join(config.stateDir, DEV_KEYS_SUBDIR));
  const auth = config.auth;
  return Object.freeze({
    keys,
    config: deepFreeze({
      ...config,
      auth: {
        ...auth,
        keys: [...auth.keys.filter((key) => key.kind === 'jwksFile' || key.kid !== keys.kid), keys.verificationKey],
        signingKeys: [...auth.signingKeys.filter((key) => key.kid !== keys.kid), keys.signingKey],
      },
    }),
  });
}

export interface DevTokenRequest {
  readonly tenant?: string;
  readonly user?: string;
  /** Default 12 h, at most auth.maxLifetimeMs. */
  readonly ttlMs?: number;
  readonly nowMs?: number;
}

const DEV_TOKEN_TTL_MS = 12 * 3600 * 1000;

/** A token for tenant `dev`, user `dev` (pty and exec), signed with the dev key. */
export async function mintDevToken(dev: DevMode, request: DevTokenRequest = {}): Promise<MintedToken> {
  const signingKey = await loadSigningKey(dev.keys.signingKey);
  return signToken(
    signingKey,
    {
      tenant: request.tenant ?? 'dev',
      user: request.user ?? 'dev',
      ttlMs: Math.min(request.ttlMs ?? DEV_TOKEN_TTL_MS, dev.config.auth.maxLifetimeMs),
      scopes: ['pty', 'exec'],
      ...(request.nowMs === undefined ? {} : { nowMs: request.nowMs }),
    },
    dev.config.auth,
  );
}

/**
 * What `serve --dev` prints: the page with the token in the URL fragment (a fragment is never
 * sent to a server, so it reaches no access log, RFC 3986 §3.5), the WebSocket URL, and the
 * command-line client. The token is a secret: this text goes to the terminal, not to a log.
 */
export function devBanner(urls: { readonly httpUrl: string; readonly sessionsUrl: string }, minted: MintedToken): string {
  return [
    'sandgate dev gateway (loopback only)',
    `  browser:   ${urls.httpUrl}#token=${minted.token}`,
    `  websocket: ${urls.sessionsUrl}  (subprotocols sandgate.v1 + sandgate.token.<token>, or Authorization: Bearer <token>)`,
    `  terminal:  npx sandgate connect ${urls.sessionsUrl} --token ${minted.token}`,
    `  token expires ${new Date(minted.expiresAtMs).toISOString()} (tenant dev, user dev)`,
    '',
  ].join('\n');
}
