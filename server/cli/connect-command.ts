import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import { connectSession } from './connect-session.js';

/**
 * `sandgate connect URL [--token T | --token-file F] [--tty | --no-tty] [-- CMD...]`: an
 * interactive terminal client, like `kubectl exec -it`: raw mode, resize, the remote exit
 * status as ours. With a terminal on stdin it opens a PTY session (the tenant's shell when no
 * CMD); otherwise an exec session with stdout and stderr apart and stdin ended by EOF.
 * `--attach ID` watches a running session instead, read-only, like `kubectl attach` without
 * -i: its output, then its exit status as ours. The token is never read from the URL (the
 * gateway refuses that anyway).
 */

export const CONNECT_USAGE = `Usage: sandgate connect URL [--token TOKEN | --token-file FILE] [--tty | --no-tty] [-- CMD...]
       sandgate connect URL [--token TOKEN | --token-file FILE] --attach SESSION_ID

  URL              the gateway's session endpoint, e.g. ws://127.0.0.1:8080/v1/sessions
  --token TOKEN    a JWT (see "sandgate token"); prefer --token-file: argv is visible in ps
  --token-file F   read the JWT from a file
  --tty, --no-tty  force a PTY session or an exec session (default: PTY when stdin is a terminal)
  --attach ID      watch session ID read-only (its scrollback, then live output); the token
                   must be the session's user's, or grant the "attach" scope in its tenant
`;

function say(text: string): void {
  process.stderr.write(`sandgate connect: ${text}\n`);
}

interface ConnectArgs {
  readonly url: string;
  readonly token: string;
  readonly tty: boolean;
  readonly argv: readonly string[] | undefined;
  readonly attach: string | undefined;
}

function parseConnectArgs(argv: readonly string[]): ConnectArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        token: { type: 'string' },
        'token-file': { type: 'string' },
        tty: { type: 'boolean' },
        'no-tty': { type: 'boolean' },
        attach: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new SandgateError('SG_USAGE', error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help === true) return 'help';
  const [url, ...command] = parsed.positionals;
  if (url === undefined || !/^wss?:\/\//.test(url)) throw new SandgateError('SG_USAGE', 'URL must be a ws:// or wss:// address', { option: 'URL' });
  const { token, 'token-file': tokenFile } = parsed.values;
  if ((token === undefined) === (tokenFile === undefined)) throw new SandgateError('SG_USAGE', 'give exactly one of --token and --token-file', { option: '--token' });
  const text = token ?? readFileSync(tokenFile ?? '', 'utf8').trim();
  const tty = parsed.values.tty === true ? true : parsed.values['no-tty'] === true ? false : process.stdin.isTTY === true;
  const attach = parsed.values.attach;
  if (attach !== undefined && command.length > 0) throw new SandgateError('SG_USAGE', '--attach watches a running session: it takes no command', { option: '--attach' });
  return { url, token: text, tty, argv: command.length === 0 ? undefined : command, attach };
}

export async function runConnectCommand(argv: readonly string[]): Promise<number> {
  let args: ConnectArgs | 'help';
  try {
    args = parseConnectArgs(argv);
  } catch (error) {
    if (!isSandgateError(error)) throw error;
    say(`${error.message} [${error.code}]`);
    return error.exitCode;
  }
  if (args === 'help') {
    process.stdout.write(CONNECT_USAGE);
    return 0;
  }
  // A viewer types nothing: the terminal stays cooked, and ^C ends the viewer, not the session.
  const rawMode = args.tty && args.attach === undefined && process.stdin.isTTY === true;
  if (rawMode) process.stdin.setRawMode(true);
  const session = connectSession({
    url: args.url,
    token: args.token,
    tty: args.tty,
    argv: args.argv,
    ...(args.attach === undefined ? {} : { attach: args.attach }),
    cols: process.stdout.columns || 80,
    rows: process.stdout.rows || 24,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
  const onResize = (): void => session.resize(process.stdout.columns || 80, process.stdout.rows || 24);
  process.stdout.on('resize', onResize);
  try {
    const outcome = await session.outcome;
    if (outcome.kind === 'refused') {
      say(`${outcome.message} [${outcome.code}]`);
      return outcome.exitCode;
    }
    const { code, signal } = outcome.exit;
    if (code !== null) return code;
    // Same convention as a shell: 128 + the signal's number.
    const number = signal === null ? undefined : signalNumber(signal);
    return number === undefined ? 1 : 128 + number;
  } finally {
    process.stdout.off('resize', onResize);
    if (rawMode) process.stdin.setRawMode(false);
  }
}

function signalNumber(name: string): number | undefined {
  const signals: Readonly<Record<string, number>> = constants.signals;
  return signals[`SIG${name}`];
}
