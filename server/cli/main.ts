import { SandgateError } from '../errors/sandgate-error.js';
import { runConnectCommand } from './connect-command.js';
import { runDoctorCommand } from './doctor-command.js';
import { runRunCommand } from './run-command.js';
import { runServeCommand } from './serve-command.js';
import { runTokenCommand } from './token-command.js';

/**
 * `sandgate <command> [options]`: the dispatcher. Each command is `(argv) => exit status`,
 * printing its own errors as `sandgate <command>: <message> [<code>]` and returning the
 * registry's exit code for them. A new command is one import and one row below.
 */

type Command = (argv: string[]) => Promise<number>;

interface CommandEntry {
  readonly run: Command;
  /** One line for the usage text. */
  readonly summary: string;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = Object.freeze({
  serve: { run: (argv: string[]) => runServeCommand(argv), summary: 'run the gateway: a fresh sandbox for every WebSocket session' },
  run: { run: runRunCommand, summary: 'run one command in a fresh sandbox on this host' },
  doctor: { run: runDoctorCommand, summary: 'check what this host supports and what is missing' },
  token: { run: (argv: string[]) => runTokenCommand(argv), summary: 'mint a token for the configured signing key' },
  connect: { run: runConnectCommand, summary: 'an interactive terminal (or exec) session through a gateway' },
});

export function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `Usage: sandgate <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "sandgate <command> --help" for its options.\n`;
}

/** Returns the process exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage());
    return 0;
  }
  const entry = name === undefined || !Object.prototype.hasOwnProperty.call(COMMANDS, name) ? undefined : COMMANDS[name];
  if (entry === undefined) {
    const error = new SandgateError('SG_USAGE', name === undefined ? 'no command given' : `unknown command ${JSON.stringify(name)}`);
    process.stderr.write(`sandgate: ${error.message} [${error.code}]\n${mainUsage()}`);
    return error.exitCode;
  }
  return entry.run(rest);
}
