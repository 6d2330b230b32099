/** The `code` of a Node system error (`ENOENT`, `EBUSY`…), or undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
