/**
 * The last branch of every `switch` on a closed union (STYLE.md rule 4): the `never`
 * parameter makes a forgotten case a compile error. At run time it is reachable only by a
 * value that bypassed the types (a cast), never by decoded input, which is validated first.
 * (The SDK cannot import server/errors/assert-never.ts: it ships without the server.)
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${String(value)}`);
}
