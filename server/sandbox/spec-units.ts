import { SandgateError } from '../errors/sandgate-error.js';

/**
 * Parsers for the human units of `sandgate run` options (`--memory 256M`, `--time-limit 30s`,
 * `--cpu 0.5`, `--pids 128`). They check syntax only and return the spec's unit (bytes, ms,
 * cores, a count); the bounds of each limit are checked once, by `parseSandboxSpec`.
 * Every failure is SG_SPEC_INVALID naming the option, so the CLI can show it as is.
 */

/** Longest option value parsed: room for any real size or duration, nothing more. */
export const UNIT_TEXT_MAX_CHARS = 32;

const KIB = 1024;

/**
 * Binary multipliers, like Docker's `--memory` and coreutils' `K`/`M`: `256M` and `256MiB`
 * both mean 256 × 2^20 bytes. A decimal reading of `MB` would surprise more users than it
 * pleases, and a memory limit is a number of pages anyway.
 */
function byteUnitMultiplier(letter: string | undefined): number | undefined {
  switch (letter?.toUpperCase()) {
    case undefined:
      return 1;
    case 'K':
      return KIB;
    case 'M':
      return KIB ** 2;
    case 'G':
      return KIB ** 3;
    case 'T':
      return KIB ** 4;
    default:
      return undefined;
  }
}

function durationUnitMs(unit: string | undefined): number | undefined {
  switch (unit) {
    case 'ms':
      return 1;
    case 's':
      return 1000;
    case 'm':
      return 60 * 1000;
    case 'h':
      return 3600 * 1000;
    default:
      return undefined;
  }
}

// `256`, `256B`, `256K`, `256k`, `256KiB`, `1.5G`. No spaces, no sign, no exponent.
const BYTE_SIZE = /^(\d+(?:\.\d+)?)(?:([KMGT])(?:i?B)?|B)?$/i;
// One or more `<number><unit>` terms, Go's time.ParseDuration style: `30s`, `1m30s`, `500ms`.
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_TERM = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const COUNT = /^\d+$/;

/** Shows an untrusted option value in a message: quoted, escaped, cut short. */
function shown(text: string): string {
  const cut = text.length > UNIT_TEXT_MAX_CHARS ? `${text.slice(0, UNIT_TEXT_MAX_CHARS)}…` : text;
  return JSON.stringify(cut);
}

function invalidOption(option: string, expected: string, text: string): SandgateError {
  return new SandgateError('SG_SPEC_INVALID', `${option} must be ${expected}, got ${shown(text)}`, {
    option,
    value: text.slice(0, UNIT_TEXT_MAX_CHARS),
  });
}

function checkedText(text: string, option: string, expected: string): string {
  if (text.length === 0 || text.length > UNIT_TEXT_MAX_CHARS) throw invalidOption(option, expected, text);
  return text;
}

/**
 * `256M` → 268435456. Plain digits are bytes; K, M, G, T (case-insensitive, optionally
 * followed by `iB` or `B`) are powers of 1024. A fraction is accepted when the result is a
 * whole number of bytes (`1.5K` yes, `0.1K` no).
 */
export function parseByteSize(text: string, option = 'size'): number {
  const expected = 'a size in bytes such as 4096, 512K, 256M or 2G (binary units)';
  const match = BYTE_SIZE.exec(checkedText(text, option, expected));
  const multiplier = byteUnitMultiplier(match?.[2]);
  if (match === null || match[1] === undefined || multiplier === undefined) {
    throw invalidOption(option, expected, text);
  }
  const bytes = Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes)) throw invalidOption(option, `a whole number of bytes up to 2^53 (${expected})`, text);
  return bytes;
}

/**
 * `30s` → 30000. Units ms, s, m, h, combinable (`1m30s`); `0` alone means "none". A number
 * without a unit is refused: `--time-limit 30` is seconds to timeout(1) and could be
 * milliseconds to a reader of the JSON spec.
 */
export function parseDurationMs(text: string, option = 'duration'): number {
  const expected = 'a duration such as 500ms, 30s, 2m, 1h or 1m30s (0 for none)';
  checkedText(text, option, expected);
  if (text === '0') return 0;
  if (!DURATION.test(text)) throw invalidOption(option, expected, text);
  let total = 0;
  for (const term of text.matchAll(DURATION_TERM)) {
    const unitMs = durationUnitMs(term[2]);
    if (term[1] === undefined || unitMs === undefined) throw invalidOption(option, expected, text);
    total += Number(term[1]) * unitMs;
  }
  if (!Number.isSafeInteger(total)) throw invalidOption(option, `a whole number of milliseconds (${expected})`, text);
  return total;
}

/** `0.5` → 0.5 cores (a cgroup CPU quota of half a period). */
export function parseCpuCores(text: string, option = 'cpu'): number {
  const expected = 'a number of CPU cores such as 0.5, 1 or 2';
  if (!DECIMAL.test(checkedText(text, option, expected))) throw invalidOption(option, expected, text);
  return Number(text);
}

/** `128` → 128: a plain decimal count (no sign, no hex, no exponent, unlike `Number()`). */
export function parseCount(text: string, option = 'count'): number {
  const expected = 'a whole number such as 128';
  if (!COUNT.test(checkedText(text, option, expected))) throw invalidOption(option, expected, text);
  const count = Number(text);
  if (!Number.isSafeInteger(count)) throw invalidOption(option, expected, text);
  return count;
}
