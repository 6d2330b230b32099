/**
 * Behaviour: the CLI's unit parsers read sizes in binary units, durations with a unit, CPU
 * cores and counts exactly, and refuse anything else with SG_SPEC_INVALID naming the option.
 */
import test from 'ava';

import { isSandgateError } from '../../../server/errors/sandgate-error.js';
import { parseByteSize, parseCount, parseCpuCores, parseDurationMs } from '../../../server/sandbox/spec-units.js';

const KIB = 1024;
const MIB = KIB * KIB;
const GIB = KIB * MIB;

const SIZES: ReadonlyArray<readonly [string, number]> = [
  ['0', 0],
  ['4096', 4096],
  ['4096B', 4096],
  ['512K', 512 * KIB],
  ['512k', 512 * KIB],
  ['256M', 256 * MIB],
  ['256MiB', 256 * MIB],
  ['256MB', 256 * MIB],
  ['2G', 2 * GIB],
  ['1.5G', 1.5 * GIB],
  ['1T', KIB * GIB],
];

const DURATIONS: ReadonlyArray<readonly [string, number]> = [
  ['0', 0],
  ['500ms', 500],
  ['30s', 30_000],
  ['1.5s', 1500],
  ['2m', 120_000],
  ['1h', 3_600_000],
  ['1m30s', 90_000],
  ['1h0m5s250ms', 3_605_250],
];

for (const [text, bytes] of SIZES) {
  test(`parseByteSize reads ${text} as ${bytes} bytes`, (t) => {
    t.is(parseByteSize(text, '--memory'), bytes);
  });
}

for (const [text, ms] of DURATIONS) {
  test(`parseDurationMs reads ${text} as ${ms} ms`, (t) => {
    t.is(parseDurationMs(text, '--time-limit'), ms);
  });
}

test('parseCpuCores and parseCount read plain decimals', (t) => {
  t.is(parseCpuCores('0.5', '--cpu'), 0.5);
  t.is(parseCpuCores('.25', '--cpu'), 0.25);
  t.is(parseCpuCores('2', '--cpu'), 2);
  t.is(parseCount('128', '--pids'), 128);
});

const REFUSALS: ReadonlyArray<readonly [string, (text: string, option: string) => number, readonly string[]]> = [
  ['--memory', parseByteSize, ['', '-1', '1e30', '0x10', '256 M', '256X', '256iB', '0.1K', 'M', '9999999T', ' 256M', '1'.repeat(40)]],
  ['--time-limit', parseDurationMs, ['', '30', '-5s', '1d', '0.5ms', '1e3s', 's', '30 s', '30S', 'Infinitys', '1m30']],
  ['--cpu', parseCpuCores, ['', '-0.5', '1e3', 'NaN', 'Infinity', '0x1', '1/2', '.', ' 1']],
  ['--pids', parseCount, ['', '-1', '1.5', '1e3', '0x10', '12a', '99999999999999999999']],
];

for (const [option, parse, texts] of REFUSALS) {
  test(`${option} values that are not well-formed are refused naming ${option}`, (t) => {
    for (const text of texts) {
      const error = t.throws(() => parse(text, option), undefined, JSON.stringify(text));
      t.true(isSandgateError(error, 'SG_SPEC_INVALID'), `${JSON.stringify(text)}: ${String(error)}`);
      t.true(error?.message.startsWith(`${option} must be`), error?.message);
    }
  });
}

test('a hostile option value is shown quoted and cut short', (t) => {
  const error = t.throws(() => parseByteSize(`\u001b]52;c;${'A'.repeat(1000)}`, '--memory'));
  t.false(error?.message.includes('\u001b'));
  t.true((error?.message.length ?? 0) < 200, error?.message);
});
