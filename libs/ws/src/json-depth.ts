const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether raw JSON nests arrays and objects deeper than `maxDepth`: one linear pass over the bytes,
 * no allocation, run before `JSON.parse` so that deep input costs no more than its length. Strings
 * (escapes included) are skipped; UTF-8 continuation bytes are all >= 0x80, so they never look like
 * brackets or quotes. Input that is not JSON may pass: `JSON.parse` refuses it next.
 */
export function exceedsJsonDepth(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** The `bad_request` message for input over the depth limit. */
export function jsonDepthMessage(maxDepth: number): string {
  return `JSON nested deeper than JSON_MAX_DEPTH (${maxDepth})`;
}
