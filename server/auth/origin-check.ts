import { AuthError, describeUntrusted } from './auth-error.js';

/** Longest Origin header looked at, chars; browsers send scheme://host[:port] only. */
const MAX_ORIGIN_CHARS = 2048;

/** The allow-list entry that admits every Origin; honoured only when configured explicitly. */
export const ANY_ORIGIN = '*';

/**
 * The serialised origin (RFC 6454 §6.2) of `value`, or undefined when it is not one: scheme and
 * host lower-cased, the scheme's default port dropped (via WHATWG URL), and no userinfo, path,
 * query or fragment — an Origin header never carries them (RFC 6454 §7.1), so their presence
 * means something is being smuggled. `null` (opaque origins: sandboxed iframes, file://) is
 * kept as the literal `null`, which only `*` admits.
 */
export function normaliseOrigin(value: string): string | undefined {
  if (value === 'null') return 'null';
  if (value.length > MAX_ORIGIN_CHARS || !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]+\/?$/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined; // not a URL: no origin to compare, the caller refuses
  }
  if (url.username !== '' || url.password !== '' || url.host === '') return undefined;
  // WHATWG `origin` is "null" for schemes without a tuple origin (e.g. chrome-extension:);
  // those are compared as scheme://host with the host as the URL parser normalised it.
  return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
}

/**
 * The Origin check against cross-site WebSocket hijacking: a page on another site can open a
 * WebSocket to the gateway with the victim's ambient credentials, and only the Origin header
 * tells the server (RFC 6455 §10.2). Requests without Origin come from programs, not
 * browsers, and are allowed: they carry their token explicitly.
 *
 * @param originHeader the request's `Origin` header (undefined when absent)
 * @param allowList exact origins (`https://term.example.com`, default ports optional) or `*`
 * @returns undefined when allowed, else an SG_ORIGIN_FORBIDDEN error
 */
export function checkOrigin(originHeader: string | undefined, allowList: readonly string[]): AuthError | undefined {
  if (originHeader === undefined) return undefined;
  if (allowList.includes(ANY_ORIGIN)) return undefined;
  const origin = normaliseOrigin(originHeader);
  if (origin !== undefined && origin !== 'null') {
    for (const entry of allowList) {
      if (normaliseOrigin(entry) === origin) return undefined;
    }
  }
  return new AuthError(
    'SG_ORIGIN_FORBIDDEN',
    origin === undefined
      ? 'The Origin header is not a valid origin (scheme://host[:port]).'
      : 'The Origin is not in auth.allowedOrigins.',
    { origin: describeUntrusted(originHeader), option: 'auth.allowedOrigins' },
  );
}
