import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SandgateError } from '../errors/sandgate-error.js';

/**
 * Finds the native executables (docs/internals/launcher-contract.md): `sandgate-launcher`
 * and the `sandgate-init` it execs from its own directory. Like node-pty's loader, a miss
 * fails with every path tried, so "not built" and "built elsewhere" are told apart.
 */

export interface LauncherBinaries {
  /** Absolute path of `sandgate-launcher`. */
  readonly launcher: string;
  /** Absolute path of `sandgate-init` (beside the launcher, where the launcher looks). */
  readonly init: string;
}

/** Build directories searched below the package root, in order. */
export const LAUNCHER_BUILD_DIRS: readonly string[] = Object.freeze(['build/Release', 'build/Debug']);
const PACKAGE_NAME = 'sandgate';

/** The directory of sandgate's package.json, walking up from `start` (this module by default). */
export async function findPackageRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): Promise<string | undefined> {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = await fs.readFile(path.join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest !== undefined && isSandgateManifest(manifest)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isSandgateManifest(text: string): boolean {
  try {
    const manifest: unknown = JSON.parse(text);
    return typeof manifest === 'object' && manifest !== null && 'name' in manifest && manifest.name === PACKAGE_NAME;
  } catch {
    return false; // a broken package.json of some other package on the way up
  }
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false; // absent or not executable: the caller lists it as tried
  }
}

/**
 * The launcher and init in the first build directory that holds both, executable.
 * `buildDir` (absolute) overrides the search. SG_NATIVE_LOAD lists every path tried.
 */
export async function locateLauncherBinaries(options: { readonly buildDir?: string } = {}): Promise<LauncherBinaries> {
  const tried: string[] = [];
  let candidates: string[];
  if (options.buildDir !== undefined) {
    candidates = [options.buildDir];
  } else {
    const root = await findPackageRoot();
    candidates = root === undefined ? [] : LAUNCHER_BUILD_DIRS.map((dir) => path.join(root, dir));
  }
  for (const dir of candidates) {
    const binaries = { launcher: path.join(dir, 'sandgate-launcher'), init: path.join(dir, 'sandgate-init') };
    tried.push(binaries.launcher, binaries.init);
    if ((await isExecutableFile(binaries.launcher)) && (await isExecutableFile(binaries.init))) return binaries;
  }
  const where = tried.length === 0 ? `no ${PACKAGE_NAME} package.json above ${fileURLToPath(import.meta.url)}` : `tried: ${tried.join(', ')}`;
  throw new SandgateError('SG_NATIVE_LOAD', `sandgate-launcher and sandgate-init not found as executables (run \`npm run build:native\`); ${where}`, {
    tried,
  });
}
