/**
 * Keeps docs/operations.md in step with the config schema: every option the environment or a
 * flag can set has a row with its derived names and its default, and no row names an option
 * that does not exist (the same contract the error registry has with docs/errors.md).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { GATEWAY_DEFAULTS } from '../../../server/config/gateway-config.js';
import { CONFIG_OPTIONS } from '../../../server/config/load-config.js';

// Compiled to dist/test/unit/config/: the repository root is four levels up.
const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');

interface Row {
  readonly env: string;
  readonly flag: string;
  readonly defaultCell: string;
}

function optionRows(markdown: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  const row = /^\|\s*`([A-Za-z.]+)`\s*\|\s*`(SANDGATE_[A-Z_]+)`[^|]*\|\s*`(--[a-z-]+)`\s*\|\s*([^|]*)\|/;
  for (const line of markdown.split('\n')) {
    const match = row.exec(line);
    if (match === null) continue;
    const [, path = '', env = '', flag = '', defaultCell = ''] = match;
    rows.set(path, { env, flag, defaultCell: defaultCell.trim() });
  }
  return rows;
}

function defaultOf(path: string): unknown {
  let value: unknown = GATEWAY_DEFAULTS;
  for (const part of path.split('.')) value = typeof value === 'object' && value !== null ? Reflect.get(value, part) : undefined;
  return value;
}

function shown(value: unknown): string {
  if (value === undefined) return '(absent)';
  if (value === '') return "`''`";
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

const rows = optionRows(doc);

test('every option has a row in docs/operations.md with its environment variable, flag and default', (t) => {
  const wrong: string[] = [];
  for (const option of CONFIG_OPTIONS) {
    const row = rows.get(option.path);
    if (row === undefined) wrong.push(`${option.path}: no row`);
    else if (row.env !== option.env || row.flag !== option.flag) wrong.push(`${option.path}: documented ${row.env} ${row.flag}, derived ${option.env} ${option.flag}`);
    else if (row.defaultCell !== shown(defaultOf(option.path))) wrong.push(`${option.path}: documented default ${row.defaultCell}, actual ${shown(defaultOf(option.path))}`);
  }
  t.deepEqual(wrong, []);
});

test('docs/operations.md documents no option that does not exist', (t) => {
  const known = new Set(CONFIG_OPTIONS.map((option) => option.path));
  t.deepEqual([...rows.keys()].filter((path) => !known.has(path)), []);
});
