#!/usr/bin/env node
// The `sandgate` command: a thin shim over the compiled CLI (dist/server/cli/main.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'server', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('sandgate: the TypeScript build is missing (' + entry + '): run `npm run build` first.');
  process.exit(70);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
