/**
 * Keeps docs/protocol.md in step with the codec's own tables (client-sdk/src/protocol): the
 * hello `limits` table names every SessionLimits field with the default DEFAULT_SESSION_LIMITS
 * holds, and the frame types, notice kinds and exit reasons the document lists are exactly
 * the codec's. A change to either side without the other fails here.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { CLIENT_FRAME_TYPES, EXIT_REASONS, NOTICE_KINDS, SERVER_FRAME_TYPES } from '../../client-sdk/src/protocol/frames.js';
import { DEFAULT_SESSION_LIMITS } from '../../client-sdk/src/protocol/limits.js';

// Compiled to dist/test/contract/: the repository root is three levels up.
const protocolDoc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

const UNITS: Readonly<Record<string, number>> = { '': 1, KiB: 1024, MiB: 1024 * 1024, GiB: 1024 * 1024 * 1024 };

/** `1 MiB`, `256 KiB`, `65536`, `1800000` → a number. */
function documentedNumber(text: string): number {
  const match = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(text.trim());
  if (match === null) return Number.NaN;
  return Number(match[1]) * (UNITS[match[2] ?? ''] ?? Number.NaN);
}

/** Rows | `field` | unit | bounds | default | meaning | of the hello `limits` table, by field. */
function limitsTable(markdown: string): Map<string, number> {
  const start = markdown.indexOf('`limits` (every field required');
  const rows = new Map<string, number>();
  for (const line of markdown.slice(start).split('\n').slice(1)) {
    if (rows.size > 0 && !line.startsWith('|')) break;
    const cells = line.split('|').map((cell) => cell.trim());
    const field = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (field !== undefined) rows.set(field, documentedNumber(cells[4] ?? ''));
  }
  return rows;
}

test('the hello limits table documents every session limit with the default the codec suggests', (t) => {
  const documented = limitsTable(protocolDoc);
  t.deepEqual([...documented.keys()].sort(), Object.keys(DEFAULT_SESSION_LIMITS).sort());
  for (const [field, value] of Object.entries(DEFAULT_SESSION_LIMITS)) t.is(documented.get(field), value, field);
});

test('every frame type, notice kind and exit reason of the codec is named in docs/protocol.md, in backquotes', (t) => {
  for (const name of [...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES, ...NOTICE_KINDS, ...EXIT_REASONS]) {
    t.true(protocolDoc.includes(`\`${name}\``), `\`${name}\` is not in docs/protocol.md`);
  }
});
