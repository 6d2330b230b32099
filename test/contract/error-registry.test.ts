/**
 * Keeps the one error registry (client-sdk/src/errors/error-codes.ts) and its documentation
 * (docs/errors.md) in step, the way fastify and undici test theirs: every code is documented
 * with the same transport mapping, nothing is documented that does not exist, and every
 * mapping is within the ranges the transports allow.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, isErrorCode } from '../../client-sdk/src/errors/error-codes.js';

// Compiled to dist/test/contract/: the repository root is three levels up.
const root = new URL('../../../', import.meta.url);
const errorsDoc = readFileSync(new URL('docs/errors.md', root), 'utf8');
const protocolDoc = readFileSync(new URL('docs/protocol.md', root), 'utf8');

interface DocumentedCode {
  readonly httpStatus: number;
  readonly wsCloseCode: number;
  readonly exitCode: number;
  readonly meaning: string;
  readonly line: number;
}

/** Rows of the form | `SG_CODE` | http | close | exit | meaning |, from any table in the file. */
function documentedCodes(markdown: string): { rows: Map<string, DocumentedCode>; problems: string[] } {
  const rows = new Map<string, DocumentedCode>();
  const problems: string[] = [];
  const row = /^\|\s*`(SG_[A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|(.*)\|\s*$/;
  for (const [index, text] of markdown.split('\n').entries()) {
    if (!/^\|\s*`SG_/.test(text)) continue;
    const match = row.exec(text);
    if (match === null) {
      problems.push(`docs/errors.md:${index + 1}: not a | \`code\` | http | close | exit | meaning | row`);
      continue;
    }
    const [, code = '', http = '', close = '', exit = '', meaning = ''] = match;
    if (rows.has(code)) problems.push(`docs/errors.md:${index + 1}: ${code} is documented twice`);
    rows.set(code, { httpStatus: Number(http), wsCloseCode: Number(close), exitCode: Number(exit), meaning: meaning.trim(), line: index + 1 });
  }
  return { rows, problems };
}

const documented = documentedCodes(errorsDoc);
/** WebSocket close codes registered for this use (RFC 6455 §7.4.1) that the registry may map to. */
const STANDARD_CLOSE_CODES = new Set([1008, 1009, 1011]);

test('every row of docs/errors.md is well-formed and appears once', (t) => {
  t.deepEqual(documented.problems, []);
  t.true(documented.rows.size > 0, 'docs/errors.md has a table of codes');
});

test('every registry code is in docs/errors.md with the same HTTP status, close code and exit code', (t) => {
  const wrong: string[] = [];
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    const row = documented.rows.get(code);
    if (row === undefined) wrong.push(`${code}: missing from docs/errors.md`);
    else if (row.httpStatus !== info.httpStatus || row.wsCloseCode !== info.wsCloseCode || row.exitCode !== info.exitCode) {
      wrong.push(
        `${code} (docs/errors.md:${row.line}): documented ${row.httpStatus}/${row.wsCloseCode}/${row.exitCode}, ` +
          `registry ${info.httpStatus}/${info.wsCloseCode}/${info.exitCode}`,
      );
    } else if (row.meaning.length === 0) wrong.push(`${code} (docs/errors.md:${row.line}): no meaning given`);
  }
  t.deepEqual(wrong, []);
});

test('docs/errors.md documents no code that the registry lacks', (t) => {
  t.deepEqual([...documented.rows.keys()].filter((code) => !isErrorCode(code)), []);
});

test('codes are SG_ followed by upper-case words', (t) => {
  t.deepEqual(Object.keys(ERROR_CODES).filter((code) => !/^SG_[A-Z0-9_]+$/.test(code)), []);
});

test('transport mappings are in range: HTTP 4xx/5xx, close 4000–4999 or 1008/1009/1011, exit 1–255', (t) => {
  const wrong = Object.entries(ERROR_CODES).flatMap(([code, info]) => [
    ...(info.httpStatus >= 400 && info.httpStatus <= 599 ? [] : [`${code}: HTTP ${info.httpStatus}`]),
    ...((info.wsCloseCode >= 4000 && info.wsCloseCode <= 4999) || STANDARD_CLOSE_CODES.has(info.wsCloseCode) ? [] : [`${code}: close ${info.wsCloseCode}`]),
    ...(Number.isInteger(info.exitCode) && info.exitCode >= 1 && info.exitCode <= 255 ? [] : [`${code}: exit ${info.exitCode}`]),
  ]);
  t.deepEqual(wrong, []);
});

test('every code that docs/protocol.md names exists in the registry', (t) => {
  const named = new Set(protocolDoc.match(/\bSG_[A-Z0-9_]+\b/g) ?? []);
  t.true(named.size > 0);
  t.deepEqual([...named].filter((code) => !isErrorCode(code)), []);
});
