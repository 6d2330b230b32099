/**
 * A strict reader of the launch plan format (docs/internals/launcher-contract.md), written
 * from the contract and not from the encoder, so a round trip through both checks one
 * against the other. Works on bytes, as the launcher does. Tests only.
 */

export interface DecodedRecord {
  readonly key: string;
  readonly fields: readonly string[];
}

const NEWLINE = 0x0a;
const KEY = /^[a-z_]+$/;
const LENGTH = /^(?:0|[1-9][0-9]*)$/;

export function decodeLaunchPlan(text: string): DecodedRecord[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.includes(0)) throw new Error('plan holds a NUL byte (the environment cannot carry it)');
  const records: DecodedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headerEnd = bytes.indexOf(NEWLINE, offset);
    if (headerEnd < 0) throw new Error(`plan byte ${offset}: header without newline`);
    const [key, ...lengths] = bytes.subarray(offset, headerEnd).toString('utf8').split(' ');
    if (key === undefined || !KEY.test(key)) throw new Error(`plan byte ${offset}: bad key ${JSON.stringify(key)}`);
    offset = headerEnd + 1;
    const fields: string[] = [];
    for (const length of lengths) {
      if (!LENGTH.test(length)) throw new Error(`record ${key}: bad length ${JSON.stringify(length)}`);
      const end = offset + Number(length);
      if (end >= bytes.length || bytes[end] !== NEWLINE) throw new Error(`record ${key}: field of ${length} bytes not followed by a newline`);
      fields.push(bytes.subarray(offset, end).toString('utf8'));
      offset = end + 1;
    }
    records.push({ key, fields });
  }
  return records;
}
