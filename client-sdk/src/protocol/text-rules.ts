import type { TextRule } from './field-reader.js';
import { PROTOCOL_LIMITS } from './limits.js';
import { utf8ByteLength } from './utf8.js';

/**
 * The string rules of protocol v1, shared by both directions' control frames. Strings that
 * reach a C API (argv, env, cwd) refuse NUL; strings shown to people refuse control
 * characters, so a message can never carry a terminal escape sequence.
 */

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// eslint-disable-next-line no-control-regex -- matching C0/C1 controls is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
/** A surrogate pair (kept) or a lone surrogate (replaced); no lookbehind, for older Safari. */
const SURROGATES = /[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g;

export const SESSION_ID_RULE: TextRule = {
  minBytes: PROTOCOL_LIMITS.sessionIdChars.min,
  maxBytes: PROTOCOL_LIMITS.sessionIdChars.max,
  pattern: { re: BASE64URL, describe: `${PROTOCOL_LIMITS.sessionIdChars.min}..${PROTOCOL_LIMITS.sessionIdChars.max} characters of [A-Za-z0-9_-]` },
};

export const RESUME_TOKEN_RULE: TextRule = {
  minBytes: PROTOCOL_LIMITS.resumeTokenChars.min,
  maxBytes: PROTOCOL_LIMITS.resumeTokenChars.max,
  pattern: { re: BASE64URL, describe: `${PROTOCOL_LIMITS.resumeTokenChars.min}..${PROTOCOL_LIMITS.resumeTokenChars.max} base64url characters` },
};

export const ARG_RULE: TextRule = { maxBytes: PROTOCOL_LIMITS.argMaxBytes, noNul: true };

export const ENV_NAME_RULE: TextRule = {
  minBytes: 1,
  maxBytes: PROTOCOL_LIMITS.envNameMaxBytes,
  pattern: { re: /^[A-Za-z_][A-Za-z0-9_]*$/, describe: 'an environment name [A-Za-z_][A-Za-z0-9_]*' },
};

export const ENV_VALUE_RULE: TextRule = { maxBytes: PROTOCOL_LIMITS.envValueMaxBytes, noNul: true };

export const CWD_RULE: TextRule = {
  minBytes: 1,
  maxBytes: PROTOCOL_LIMITS.cwdMaxBytes,
  noNul: true,
  pattern: { re: /^\//, describe: 'an absolute path' },
};

export const MESSAGE_RULE: TextRule = {
  maxBytes: PROTOCOL_LIMITS.messageMaxBytes,
  // eslint-disable-next-line no-control-regex -- refusing C0/C1 controls is the point
  pattern: { re: /^[^\u0000-\u001f\u007f-\u009f]*$/, describe: 'text without control characters' },
};

export const ERROR_CODE_RULE: TextRule = {
  minBytes: 4,
  maxBytes: PROTOCOL_LIMITS.errorCodeMaxBytes,
  pattern: { re: /^SG_[A-Z0-9_]+$/, describe: 'a registry code SG_[A-Z0-9_]+' },
};

/**
 * Makes any text a valid frame message: control characters become spaces, lone surrogates
 * U+FFFD, and the result is cut at a character boundary within messageMaxBytes (with an
 * ellipsis). For building error and notice frames from messages that were not written for
 * the wire.
 */
export function toWireMessage(text: string): string {
  const clean = text.replace(SURROGATES, (found) => (found.length === 2 ? found : '\ufffd')).replace(CONTROL_CHARACTERS, ' ');
  return fitUtf8(clean, PROTOCOL_LIMITS.messageMaxBytes);
}

/** `text` cut at a code point boundary so that it fits `maxBytes` of UTF-8, '…' marking a cut. */
export function fitUtf8(text: string, maxBytes: number): string {
  if (utf8ByteLength(text) <= maxBytes) return text;
  const budget = maxBytes - 3; // '…' is 3 bytes
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8ByteLength(char);
    if (size < 0 || bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return `${text.slice(0, end)}…`;
}
