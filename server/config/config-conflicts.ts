import { isIP } from 'node:net';
import { ANY_ORIGIN } from '../auth/origin-check.js';
import type { GatewayConfig } from './gateway-config.js';

/**
 * Options that are each valid but wrong together. Pure: returns every conflict as a sentence
 * naming the options involved, so start-up fails with the first and a test can list them all.
 * Each rule says why the combination is refused.
 */

export interface ConfigConflict {
  readonly options: readonly string[];
  readonly sentence: string;
}

/** Hosts that only this machine can reach (RFC 1122 §3.2.1.3: all of 127/8 is loopback). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function configConflicts(config: GatewayConfig): ConfigConflict[] {
  const conflicts: ConfigConflict[] = [];
  const add = (options: string[], sentence: string): void => void conflicts.push({ options, sentence });

  if (config.dev && !isLoopbackHost(config.host)) {
    add(['dev', 'host'], `dev mode prints a ready token and trusts any local page, so it only listens on loopback: host ${config.host} is not (use 127.0.0.1, ::1 or localhost, or drop --dev).`);
  }
  if (config.auth.allowedOrigins.includes(ANY_ORIGIN) && !config.dev) {
    add(['auth.allowedOrigins', 'dev'], 'auth.allowedOrigins "*" lets a page on any site open sessions with a visitor\'s token (cross-site WebSocket hijacking): list the origins that serve the terminal, or use it only with --dev.');
  }
  if (config.pingIntervalMs > 0 && config.pongTimeoutMs >= config.pingIntervalMs) {
    add(['pongTimeoutMs', 'pingIntervalMs'], `pongTimeoutMs (${config.pongTimeoutMs}) must be shorter than pingIntervalMs (${config.pingIntervalMs}): a connection gets one ping at a time.`);
  }
  if (config.maxHandshakesInFlight > config.maxConnections) {
    add(['maxHandshakesInFlight', 'maxConnections'], `maxHandshakesInFlight (${config.maxHandshakesInFlight}) is above maxConnections (${config.maxConnections}): every handshake becomes a connection, so lower it.`);
  }
  for (const [name, bytes] of [['outputWindowBytes', config.outputWindowBytes], ['stdinWindowBytes', config.stdinWindowBytes]] as const) {
    if (config.maxDataFrameBytes > bytes) {
      add(['maxDataFrameBytes', name], `maxDataFrameBytes (${config.maxDataFrameBytes}) is above ${name} (${bytes}): a full data frame would never fit the window.`);
    }
  }
  if (config.maxSessions > config.uidRange.count) {
    add(['maxSessions', 'uidRange.count'], `maxSessions (${config.maxSessions}) is above uidRange.count (${config.uidRange.count}): each running sandbox leases its own host uid.`);
  }
  const policies = [
    { at: '', policy: config },
    ...Object.entries(config.tenants).map(([tenant, policy]) => ({ at: `tenants.${tenant}.`, policy })),
  ];
  for (const { at, policy } of policies) {
    if (policy.maxSessionsPerUser > policy.maxSessionsPerTenant) {
      add([`${at}maxSessionsPerUser`, `${at}maxSessionsPerTenant`], `${at}maxSessionsPerUser (${policy.maxSessionsPerUser}) is above ${at}maxSessionsPerTenant (${policy.maxSessionsPerTenant}), so it could never be reached: lower it or raise the tenant's.`);
    }
    if (policy.limits.timeLimitMs > config.maxSessionLifetimeMs) {
      add([`${at}limits.timeLimitMs`, 'maxSessionLifetimeMs'], `${at}limits.timeLimitMs (${policy.limits.timeLimitMs}) is above maxSessionLifetimeMs (${config.maxSessionLifetimeMs}), which ends every session first: lower it or raise maxSessionLifetimeMs.`);
    }
  }
  return conflicts;
}
