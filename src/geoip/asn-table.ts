// The shipped IP-to-network table: @ip-location-db/asn's CSV files (README "Where a request came
// from"), parsed once per process (open.ts) into sorted, non-overlapping ranges held in typed
// arrays. A lookup is a binary search (about 20 comparisons); the table and its names take about
// 30 MB of memory. The package family publishes no ASN .mmdb on the npm registry, hence the CSV;
// an operator's own GeoLite2-ASN .mmdb (GEOIP_ASN_DB) replaces it.
//
//   asn-ipv4-num.csv   first,last,asn,name        (addresses as 32-bit integers)
//   asn-ipv6.csv       first,last,asn,name        (addresses as IPv6 text)
// A name with a comma is quoted, with "" for a quote inside it (RFC 4180).

export interface AsnRecord {
  asn: number;
  name: string | null;
}

/** Ranges of one address family: `width` words (32-bit) per address, ascending and disjoint. */
class Ranges {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly asns: Uint32Array;
  length = 0;
  readonly #width: number;

  constructor(width: number, capacity: number) {
    this.#width = width;
    this.starts = new Uint32Array(capacity * width);
    this.ends = new Uint32Array(capacity * width);
    this.asns = new Uint32Array(capacity);
  }

  push(first: readonly number[], end: readonly number[], asn: number, line: number): void {
    const w = this.#width;
    let start = first;
    if (compare(start, 0, end, 0, w) > 0) throw new Error(`line ${line}: the range ends before it starts`);
    if (this.length > 0) {
      const last = this.length - 1;
      // Sorted by their first address, or binary search would find the wrong range.
      if (compare(start, 0, this.starts, last * w, w) <= 0) throw new Error(`line ${line}: the ranges are not in ascending order`);
      // The package's data has the odd overlap: the earlier range keeps the shared addresses.
      if (compare(start, 0, this.ends, last * w, w) <= 0) {
        if (compare(end, 0, this.ends, last * w, w) <= 0) return;
        start = successor(this.ends.subarray(last * w, last * w + w));
      }
    }
    for (let i = 0; i < w; i++) {
      this.starts[this.length * w + i] = start[i] ?? 0;
      this.ends[this.length * w + i] = end[i] ?? 0;
    }
    this.asns[this.length] = asn;
    this.length++;
  }

  /** The ASN of the range holding `address`, or 0 (never an assigned number, RFC 7607). */
  find(address: readonly number[]): number {
    const w = this.#width;
    let lo = 0;
    let hi = this.length - 1;
    // The last range starting at or before the address…
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.starts, mid * w, address, 0, w) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    // …holds it if it ends at or after it.
    if (hi < 0 || compare(address, 0, this.ends, hi * w, w) > 0) return 0;
    return this.asns[hi] ?? 0;
  }
}

/** The address after `words` (never called on the last address: a range ends after it). */
function successor(words: ArrayLike<number>): number[] {
  const out = Array.from(words);
  for (let i = out.length - 1; i >= 0; i--) {
    const next = ((out[i] ?? 0) + 1) >>> 0;
    out[i] = next;
    if (next !== 0) break;
  }
  return out;
}

function compare(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number, width: number): number {
  for (let i = 0; i < width; i++) {
    const x = a[ai + i] ?? 0;
    const y = b[bi + i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const COLON = 0x3a;

/** A CSV field as text: a quoted one unquoted, "" read as one quote. */
function field(csv: Buffer, start: number, end: number): string {
  if (end - start >= 2 && csv[start] === QUOTE && csv[end - 1] === QUOTE) {
    return csv.toString('utf8', start + 1, end - 1).replaceAll('""', '"');
  }
  return csv.toString('utf8', start, end);
}

/** A decimal number in csv[start, end), or -1. Read byte by byte: the table has half a million. */
function decimal(csv: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 10) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = (csv[i] ?? 0) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 0xffff_ffff ? n : -1;
}

/** An IPv6 address in csv[start, end) (hex groups, one `::` at most) into out[0..3]; false if it is none. */
function ipv6(csv: Buffer, start: number, end: number, out: number[]): boolean {
  const groups: number[] = [];
  let gap = -1;
  let i = start;
  if (csv[i] === COLON && csv[i + 1] === COLON) {
    gap = 0;
    i += 2;
  }
  while (i < end) {
    let value = 0;
    let digits = 0;
    for (; i < end && csv[i] !== COLON; i++, digits++) {
      const c = (csv[i] ?? 0) | 0x20;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
      if (d < 0) return false;
      value = value * 16 + d;
    }
    if (digits === 0 || digits > 4) return false;
    groups.push(value);
    if (i < end) {
      i++;
      if (csv[i] === COLON) {
        if (gap >= 0) return false;
        gap = groups.length;
        i++;
      } else if (i === end) return false;
    }
  }
  const missing = 8 - groups.length;
  if (gap < 0 ? missing !== 0 : missing < 1) return false;
  if (gap >= 0) groups.splice(gap, 0, ...new Array<number>(missing).fill(0));
  for (let w = 0; w < 4; w++) out[w] = (((groups[2 * w] ?? 0) << 16) | (groups[2 * w + 1] ?? 0)) >>> 0;
  return true;
}

/** Counts the lines of a buffer: the capacity of its table. */
function lineCount(csv: Buffer): number {
  let n = 0;
  for (let pos = csv.indexOf(NEWLINE); pos >= 0; pos = csv.indexOf(NEWLINE, pos + 1)) n++;
  return n + 1;
}

/**
 * Reads `first,last,asn,name` lines into `ranges`, the addresses by `address`, and names each ASN
 * the first time it appears.
 */
function load(
  csv: Buffer, ranges: Ranges, width: number, names: Map<number, string>,
  address: (csv: Buffer, start: number, end: number, out: number[]) => boolean,
): void {
  const first = new Array<number>(width).fill(0);
  const last = new Array<number>(width).fill(0);
  const commas = [0, 0, 0];
  let line = 0;
  for (let pos = 0; pos < csv.length;) {
    line++;
    // The first three commas by hand (the fields are short), then the end of the name natively.
    let found = 0;
    let end = pos;
    for (; found < 3 && end < csv.length; end++) {
      const c = csv[end];
      if (c === NEWLINE) break;
      if (c === COMMA) commas[found++] = end;
    }
    if (found === 3) end = csv.indexOf(NEWLINE, end);
    if (end < 0) end = csv.length;
    const lineEnd = end > pos && csv[end - 1] === 0x0d ? end - 1 : end;
    if (lineEnd > pos) {
      const [c1 = 0, c2 = 0, c3 = 0] = commas;
      if (found < 3 || c3 >= lineEnd) throw new Error(`line ${line}: expected first,last,asn,name`);
      const asn = decimal(csv, c2 + 1, c3);
      if (asn < 0) throw new Error(`line ${line}: the ASN is not a number`);
      if (!address(csv, pos, c1, first) || !address(csv, c1 + 1, c2, last)) throw new Error(`line ${line}: not an address range`);
      ranges.push(first, last, asn, line);
      // Kept as read: cleaning 80,000 names would double the start-up; a lookup cleans the one it returns.
      if (!names.has(asn)) names.set(asn, field(csv, c3 + 1, lineEnd));
    }
    pos = end + 1;
  }
}

const ipv4Number = (csv: Buffer, start: number, end: number, out: number[]): boolean => {
  const n = decimal(csv, start, end);
  out[0] = n;
  return n >= 0;
};

export class AsnTable {
  readonly #v4: Ranges;
  readonly #v6: Ranges;
  /** One name per ASN (the table repeats it on every range). */
  readonly #names = new Map<number, string>();
  readonly #cleanName: (raw: string) => string | null;

  private constructor(v4: Ranges, v6: Ranges, cleanName: (raw: string) => string | null) {
    this.#v4 = v4;
    this.#v6 = v6;
    this.#cleanName = cleanName;
  }

  /** Throws an Error naming the line when a file is not such a table. */
  static parse(ipv4NumCsv: Buffer, ipv6Csv: Buffer, cleanName: (raw: string) => string | null): AsnTable {
    const table = new AsnTable(new Ranges(1, lineCount(ipv4NumCsv)), new Ranges(4, lineCount(ipv6Csv)), cleanName);
    try {
      load(ipv4NumCsv, table.#v4, 1, table.#names, ipv4Number);
    } catch (err) {
      throw new Error(`IPv4 table: ${(err as Error).message}`, { cause: err });
    }
    try {
      load(ipv6Csv, table.#v6, 4, table.#names, ipv6);
    } catch (err) {
      throw new Error(`IPv6 table: ${(err as Error).message}`, { cause: err });
    }
    if (table.#v4.length === 0 || table.#v6.length === 0) throw new Error('the table is empty');
    return table;
  }

  get size(): number {
    return this.#v4.length + this.#v6.length;
  }

  /** The network holding an address given as 1 (IPv4) or 4 (IPv6) 32-bit words, or null. */
  lookup(words: readonly number[]): AsnRecord | null {
    const asn = words.length === 1 ? this.#v4.find(words) : this.#v6.find(words);
    if (asn === 0) return null;
    const name = this.#names.get(asn);
    return { asn, name: name === undefined ? null : this.#cleanName(name) };
  }
}
