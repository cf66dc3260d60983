// A tiny MaxMind DB writer (MaxMind DB File Format Specification 2.0), enough to stand in for an
// operator's GeoLite2-ASN or -Country file in tests: an IPv6 tree (IPv4 networks live at
// ::a.b.c.d, as MaxMind's own files keep them), 24-bit records, maps of strings and unsigned
// integers. The real files cannot be shipped or downloaded here.
import { isIPv4 } from 'node:net';

type Value = string | number | Value[] | { [key: string]: Value };

function control(type: number, size: number): Buffer {
  // Types 1-7 fit the control byte's top three bits; the others are "extended" (type 0, then type - 7).
  const head = type <= 7 ? [type << 5] : [0, type - 7];
  if (size < 29) {
    head[0] = (head[0] ?? 0) | size;
    return Buffer.from(head);
  }
  if (size < 29 + 256) {
    head[0] = (head[0] ?? 0) | 29;
    return Buffer.from([...head, size - 29]);
  }
  head[0] = (head[0] ?? 0) | 30;
  const rest = size - 285;
  return Buffer.from([...head, rest >> 8, rest & 255]);
}

function uint(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

function encode(v: Value): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([control(2, b.length), b]);
  }
  if (typeof v === 'number') {
    const b = uint(v);
    // uint32 (type 6) for what fits, else uint64 (type 9).
    return Buffer.concat([control(v <= 0xffff_ffff ? 6 : 9, b.length), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([control(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

/** The 128 bits of an IPv4 network's address as IPv6 (::a.b.c.d), most significant first. */
function bitsOf(network: string): { bits: number[]; prefix: number } {
  const [address = '', length = ''] = network.split('/');
  if (!isIPv4(address)) throw new Error(`only IPv4 networks: ${network}`);
  const bits = new Array<number>(96).fill(0);
  for (const octet of address.split('.').map(Number)) for (let i = 7; i >= 0; i--) bits.push((octet >> i) & 1);
  return { bits, prefix: 96 + Number(length) };
}

/** A .mmdb file holding `records` (IPv4 network in CIDR → the record for it), of `databaseType`. */
export function writeMmdb(databaseType: string, records: Record<string, Record<string, Value>>): Buffer {
  // The search tree: node i has a left and a right record; -1 is "no data", -2 - k is data item k.
  const nodes: [number, number][] = [[-1, -1]];
  const data: Buffer[] = [];
  const offsets: number[] = [];
  let size = 0;
  for (const [network, record] of Object.entries(records)) {
    const { bits, prefix } = bitsOf(network);
    const item = data.length;
    const encoded = encode(record);
    data.push(encoded);
    offsets.push(size);
    size += encoded.length;
    let node = 0;
    for (let depth = 0; depth < prefix; depth++) {
      const side = bits[depth] ?? 0;
      const here = nodes[node] ?? [-1, -1];
      if (depth === prefix - 1) {
        here[side] = -2 - item;
      } else {
        if ((here[side] ?? -1) < 0) {
          nodes.push([-1, -1]);
          here[side] = nodes.length - 1;
        }
        node = here[side] ?? 0;
      }
    }
  }
  const count = nodes.length;
  const value = (r: number): number => (r >= 0 ? r : r === -1 ? count : count + 16 + (offsets[-2 - r] ?? 0));
  const tree = Buffer.alloc(count * 6);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(value(left), i * 6, 3);
    tree.writeUIntBE(value(right), i * 6 + 3, 3);
  });
  const metadata = encode({
    node_count: count, record_size: 24, ip_version: 6, database_type: databaseType, languages: ['en'],
    binary_format_major_version: 2, binary_format_minor_version: 0, build_epoch: 1_767_225_600, description: { en: 'test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'), metadata]);
}
