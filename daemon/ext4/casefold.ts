// Case-insensitive names for casefold directories (EXT4_CASEFOLD_FL on the directory,
// INCOMPAT casefold with s_encoding = 1: UTF-8, Unicode 12.1). The kernel folds with
// utf8_casefold (fs/unicode: NFD + full case folding from CaseFolding.txt C+F), hashes the
// folded bytes, and compares folded forms; invalid UTF-8 is either refused (strict mode,
// s_encoding_flags & EXT4_ENC_STRICT_MODE_FL) or treated as opaque bytes.
// This is an approximation built on ICU's NFD and case mappings, documented below; callers
// fall back to a linear scan for names where it might disagree with the kernel's tables.

export const EXT4_ENC_UTF8_12_1 = 1;
export const EXT4_ENC_STRICT_MODE_FL = 0x1;

// ignoreBOM keeps a leading U+FEFF in the string: it is part of the name, not a marker.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Decodes strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), or null. */
export function decodeUtf8(name: Uint8Array): string | null {
  try {
    return decoder.decode(name);
  } catch {
    return null;
  }
}

/**
 * Full case folding of one code point, approximated as lower(upper(c)) (which gives the
 * C+F foldings, e.g. ß -> ss, ﬀ -> ff, ᾳ -> αι, and avoids toLowerCase's final-sigma rule
 * because it runs per code point) with the exceptions where that identity is not the fold:
 *  - U+0131 dotless i has no C/F folding (upper-then-lower would make it 'i');
 *  - U+1E9E capital sharp s folds to "ss" (lower() gives ß);
 *  - Cherokee folds to the *upper* case letters (U+13F8..13FD -> 13F0..13F5,
 *    U+AB70..ABBF -> 13A0..13EF), the opposite of lower().
 * Known differences left: ICU's Unicode version is newer than 12.1, so letters added after
 * 12.1 fold here but not in the kernel; the kernel's NFD tables are 12.1 too.
 */
function foldCodePoint(c: string, cp: number): string {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? String.fromCharCode(cp + 32) : c;
  if (cp === 0x131) return c;
  if (cp === 0x1e9e) return 'ss';
  if (cp >= 0x13a0 && cp <= 0x13f5) return c;
  if (cp >= 0x13f8 && cp <= 0x13fd) return String.fromCodePoint(cp - 8);
  if (cp >= 0xab70 && cp <= 0xabbf) return String.fromCodePoint(cp - 0xab70 + 0x13a0);
  return c.toUpperCase().toLowerCase();
}

/** NFD + full case fold of a decoded name (utf8_casefold's result as a JS string). */
export function casefoldString(s: string): string {
  let out = '';
  for (const c of s.normalize('NFD')) out += foldCodePoint(c, c.codePointAt(0)!);
  // Folding can produce precomposed or reorderable sequences (e.g. İ -> i + U+0307).
  return out.normalize('NFD');
}

/**
 * utf8_casefold: the bytes the kernel hashes and compares for a name in a casefold
 * directory, or null when the name is not valid UTF-8 (the kernel then uses the raw
 * bytes, or refuses the name in strict mode).
 */
export function casefoldName(name: Uint8Array): Uint8Array | null {
  const s = decodeUtf8(name);
  if (s === null) return null;
  return encoder.encode(casefoldString(s));
}

/** Whether folding this name could depend on tables where we may differ from the kernel. */
export function foldIsExact(name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if (name[i] >= 0x80) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A matcher for one looked-up name in a casefold directory, as generic_ci_match:
 * `folded` is casefoldName(lookup name) (null if the lookup name is invalid UTF-8);
 * a directory entry matches when its folded form equals it; an entry that is not valid
 * UTF-8 matches only byte-for-byte, and never in strict mode.
 */
export function ciMatcher(name: Uint8Array, folded: Uint8Array | null, strict: boolean): (entry: Uint8Array) => boolean {
  return (entry) => {
    if (folded !== null) {
      // Cheap exits before folding: identical bytes, or both pure ASCII.
      if (bytesEqual(entry, name)) return decodeUtf8(entry) !== null || !strict;
      const ef = casefoldName(entry);
      if (ef !== null) return bytesEqual(ef, folded);
    } else if (decodeUtf8(entry) !== null) {
      return false;
    }
    if (strict) return false;
    return bytesEqual(entry, name);
  };
}
