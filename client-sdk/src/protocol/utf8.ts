/**
 * UTF-8 sizing and strict decoding without Node's Buffer (the SDK runs in browsers too).
 * Limits are in bytes (STYLE.md rule 4), so strings are measured as they travel, not by
 * `length`, which counts UTF-16 code units.
 */

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Bytes of `text` in UTF-8, or -1 when it holds a lone surrogate (possible from JSON `\ud800`
 * escapes): such a string has no UTF-8 form and is refused rather than silently replaced.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      bytes += 4;
      i += 1;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
    else bytes += 3;
  }
  return bytes;
}

/** Strict decode: undefined for bytes that are not UTF-8 (TextDecoder `fatal` throws a TypeError). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch (error: unknown) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
