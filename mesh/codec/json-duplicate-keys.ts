// protobuf-es's fromJsonString rejects a JSON text with a duplicate object key anywhere (JSON.parse
// would silently keep the last one). It finds them with a character-by-character scan of the text,
// which costs more than JSON.parse itself. The compiled decoders find the same thing cheaper:
// JSON.parse merges duplicates, so a text has a duplicate key if and only if it has more member names
// than the parsed value has keys. The decoders count the keys of every object they walk (they walk
// them all when they succeed); this file counts the member names in the text, jumping from quote to
// quote with indexOf, so the long strings of a message (base64 bytes, text) are not scanned in JS.

/**
 * Number of object member names in a JSON text that JSON.parse accepted: strings followed, after
 * optional whitespace, by a colon.
 */
export function countMemberNames(text: string): number {
  let count = 0;
  let i = text.indexOf('"');
  while (i !== -1) {
    // Find the closing quote: the next quote not escaped by an odd run of backslashes.
    let j = text.indexOf('"', i + 1);
    while (text.charCodeAt(j - 1) === 92 /* \ */) {
      let slashes = 1;
      while (text.charCodeAt(j - 1 - slashes) === 92) slashes++;
      if ((slashes & 1) === 0) break;
      j = text.indexOf('"', j + 1);
    }
    let q = j + 1;
    let c = text.charCodeAt(q);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++q);
    if (c === 58 /* : */) count++;
    i = text.indexOf('"', q);
  }
  return count;
}

/** The error protobuf-es raises for a duplicate key. */
export function duplicateKey(typeName: string): never {
  throw new Error(`cannot decode message ${typeName} from JSON: duplicate object key`);
}
