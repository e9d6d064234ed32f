/**
 * How deep the API lets a JSON body nest arrays and objects (`{"data":[1]}` is 2 deep). Free-form
 * fields (an event's `data`, a job's `payload`) are copied by class-transformer, which recurses once
 * per level: a body a few thousand levels deep would overflow the stack, a 500, on a few KB.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }

/**
 * Whether a JSON text nests arrays and objects more than `limit` levels deep: one pass over its
 * UTF-8 bytes counting brackets outside strings, which stops as soon as it knows. Nesting N deep
 * takes at least 2N bytes, so a shorter text is not read at all. It does not check that the text
 * is JSON; the parser does that next. (The bytes of a multi-byte UTF-8 character are all above
 * 0x7f, so none is mistaken for a bracket or a quote.)
 */
export function nestsDeeperThan(json: Uint8Array, limit: number): boolean {
  if (json.length < 2 * (limit + 1)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      // An escaped character, `\"` above all, does not end the string.
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
