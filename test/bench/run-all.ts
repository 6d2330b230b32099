/**
 * `npm run bench`: runs every compiled benchmark (dist/test/bench/*.bench.js) one after the
 * other, each in its own Node process so that one benchmark's heap and leftovers cannot skew
 * the next, with their output passed through. Exits non-zero if any benchmark failed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

function runBenchmark(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...process.argv.slice(2)], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const benchmarks = fs
  .readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.js'))
  .sort();
let failures = 0;
for (const name of benchmarks) {
  process.stdout.write(`\n== ${name} ==\n`);
  const status = await runBenchmark(path.join(benchDir, name));
  if (status !== 0) {
    failures += 1;
    process.stdout.write(`${name} failed with exit code ${status}\n`);
  }
}
process.exitCode = failures === 0 ? 0 : 1;
