import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Memory of THIS process after full garbage collections, for tests that run the gateway
 * in-process and bound what it keeps: heap in use plus ArrayBuffers (Buffers), bytes. Two
 * GCs: the backing stores of dead ArrayBuffers are swept concurrently, and after one GC
 * arrayBuffers was seen still 10 MiB high; `external` lags further still. Native memory
 * outside V8 (not Buffers) is not seen here.
 */

setFlagsFromString('--expose-gc');
/** V8's gc(), exposed at run time as jest-leak-detector does (ava starts its workers without --expose-gc). */
const gc = runInNewContext('gc') as () => void;

export function heapAfterGc(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}
