/**
 * Behaviour: `sandgate run` refuses a hostile or malformed spec before it creates anything:
 * the registry's exit code for the error (64 SG_USAGE, 65 SG_SPEC_INVALID / SG_SPEC_FORBIDDEN),
 * the code and the option named on stderr, no command run, and not even a cgroup made and
 * removed again (the cell is watched with inotify).
 */
import fs from 'node:fs';
import path from 'node:path';

import test from 'ava';

import { ERROR_CODES, type ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { describeOutcome, fixtureFor } from './support/sandgate-fixture.js';

interface Refusal {
  readonly options: readonly string[];
  readonly code: ErrorCode;
  /** What the message must name: the option or the spec field it sets. */
  readonly names: RegExp;
  /** Makes the refusal about the rule, not a missing file: creates this in the CLI's cwd. */
  readonly existingDir?: string;
}

const REFUSALS: readonly Refusal[] = [
  { options: ['--memory', '1'], code: 'SG_SPEC_INVALID', names: /--memory|memoryBytes/ },
  { options: ['--memory', '1e30'], code: 'SG_SPEC_INVALID', names: /--memory|memoryBytes/ },
  { options: ['--pids', '0'], code: 'SG_SPEC_INVALID', names: /--pids|\bpids\b/ },
  { options: ['--bind', '/:/x'], code: 'SG_SPEC_FORBIDDEN', names: /--bind|\bbinds\b/ },
  { options: ['--bind', '/proc:/p'], code: 'SG_SPEC_FORBIDDEN', names: /--bind|\bbinds\b/ },
  { options: ['--ro-bind', 'relative:/x'], code: 'SG_SPEC_INVALID', names: /--ro-bind|\bbinds\b/, existingDir: 'relative' },
  { options: ['--cwd', 'relative'], code: 'SG_SPEC_INVALID', names: /--cwd|\bcwd\b/ },
  { options: ['--frobnicate'], code: 'SG_USAGE', names: /--frobnicate/ },
];

for (const refusal of REFUSALS) {
  test(`sandgate run ${refusal.options.join(' ')} is refused with ${refusal.code} before anything is created`, async (t) => {
    const fixture = fixtureFor(t);
    if (refusal.existingDir !== undefined) fs.mkdirSync(path.join(fixture.workDir, refusal.existingDir));
    fixture.cell.watchCreations();
    const outcome = await fixture.run(['run', ...refusal.options, '--', '/bin/sh', '-c', 'echo sgtest-command-ran']);
    const stderr = outcome.stderr.toString('utf8');
    t.is(outcome.status, ERROR_CODES[refusal.code].exitCode, describeOutcome(outcome));
    t.true(stderr.includes(`[${refusal.code}]`), stderr);
    t.regex(stderr, refusal.names);
    t.false(outcome.stdout.toString('utf8').includes('sgtest-command-ran'));
    t.deepEqual(await fixture.cell.createdEntries(), [], 'no cgroup was created, not even for a moment');
    t.deepEqual(fixture.cell.descendants(), []);
  });
}
