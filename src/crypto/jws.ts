// Compact JWS signing (RFC 7515 §7.1) with node:crypto, for the tokens this server signs (jwt.ts).
// Verification stays with jose. An ES256 signature is made in DER, OpenSSL's own form, and turned
// into the JWS form (R and S, 32 bytes each: RFC 7518 §3.4) here: Node's own conversion
// (`dsaEncoding: 'ieee-p1363'`, which WebCrypto uses too) cost as much again as the signature
// itself (bench/RESULTS.md, "Signatures in DER"). An ES256 signature (~25 µs) is made on the event
// loop, where it costs less than the trip to the thread pool and back; an RS256 one (~1 ms) is made
// on the thread pool, so that it never holds up other requests.
import { sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlg } from '../model/records.ts';

const signAsync = promisify(sign);

/** The byte length of R and of S in an ES256 signature (P-256). */
const ES256_PART = 32;

/** `header.payload.signature`, signed by `privateKey` (an ES256 or RS256 key, as `alg` says). */
export async function signCompact(alg: KeyAlg, privateKey: KeyObject, header: object, payload: object): Promise<string> {
  const input = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  const data = Buffer.from(input);
  // SHA-256 both ways; an RSA key signs with PKCS #1 v1.5 (RS256) unless told otherwise.
  const signature = alg === 'ES256' ? derToJose(sign('sha256', data, privateKey), ES256_PART) : await signAsync('sha256', data, privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * An ECDSA signature in DER (`SEQUENCE { INTEGER r, INTEGER s }`) as the JWS form: R then S, each
 * unsigned, big-endian and left-padded to `size` bytes. Throws on anything else.
 */
export function derToJose(der: Uint8Array, size: number): Buffer {
  let at = 0;
  const byte = (): number => {
    if (at >= der.length) throw new Error('ECDSA signature: truncated DER');
    return der[at++] as number;
  };
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw new Error('ECDSA signature: unexpected DER length');
    return byte();
  };
  if (byte() !== 0x30 || length() !== der.length - at) throw new Error('ECDSA signature: not a DER sequence');
  const out = Buffer.alloc(2 * size);
  for (const offset of [0, size]) {
    if (byte() !== 0x02) throw new Error('ECDSA signature: not a DER integer');
    let n = length();
    if (n === 0 || at + n > der.length) throw new Error('ECDSA signature: bad DER integer');
    // A leading zero only keeps a high bit from reading as a sign.
    while (n > size && der[at] === 0) { at++; n--; }
    if (n > size) throw new Error('ECDSA signature: integer too long');
    out.set(der.subarray(at, at + n), offset + size - n);
    at += n;
  }
  if (at !== der.length) throw new Error('ECDSA signature: trailing bytes');
  return out;
}
