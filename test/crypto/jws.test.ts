// Compact JWS signing with node:crypto (src/crypto/jws.ts) and the private keys it signs with
// (src/crypto/keys.ts): what it signs, jose verifies; ES256 signatures in the JWS form whatever the
// length of R and S; keys of the wrong kind refused.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { test } from 'node:test';
import { compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { derToJose, signCompact } from '../../src/crypto/jws.ts';
import { importPrivateKey } from '../../src/crypto/keys.ts';

test('signCompact: ES256 tokens verify with jose and as IEEE P1363 signatures, header and payload as given', async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const key = importPrivateKey(await exportJWK(pair.privateKey), 'ES256');
  const publicKey = createPublicKey(key);
  // Enough signatures that some have an R or S shorter than 32 bytes (about 1 in 128 each).
  for (let i = 0; i < 600; i++) {
    const token = await signCompact('ES256', key, { alg: 'ES256', kid: 'k1', typ: 'at+jwt' }, { sub: `user-${i}`, iat: 1, exp: 2 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const signature = Buffer.from(s, 'base64url');
    assert.equal(signature.length, 64, `signature ${i} is R and S, 32 bytes each`);
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), `signature ${i} verifies`);
    const { payload, protectedHeader } = await compactVerify(token, pair.publicKey);
    assert.deepEqual(protectedHeader, { alg: 'ES256', kid: 'k1', typ: 'at+jwt' });
    assert.deepEqual(JSON.parse(Buffer.from(payload).toString()), { sub: `user-${i}`, iat: 1, exp: 2 });
  }
});

test('signCompact: RS256 tokens verify with jose as JWTs', async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  const key = importPrivateKey(await exportJWK(pair.privateKey), 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const token = await signCompact('RS256', key, { alg: 'RS256', kid: 'r1', typ: 'JWT' }, { iss: 'https://as.example', sub: 'u', aud: 'c', iat: now, exp: now + 60 });
  assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', kid: 'r1', typ: 'JWT' });
  const { payload } = await jwtVerify(token, pair.publicKey, { issuer: 'https://as.example', audience: 'c', algorithms: ['RS256'] });
  assert.equal(payload.sub, 'u');
});

test('derToJose: R and S unsigned and left-padded, a sign byte dropped; anything but a DER pair of integers refused', () => {
  const r = Buffer.alloc(32, 0xab); // high bit set: DER gives it a leading zero
  const s = Buffer.alloc(30, 0x11); // a short S: two zero bytes of padding
  const der = Buffer.concat([Buffer.from([0x30, 2 + 33 + 2 + 30, 0x02, 33, 0x00]), r, Buffer.from([0x02, 30]), s]);
  assert.deepEqual(derToJose(der, 32), Buffer.concat([r, Buffer.alloc(2), s]));

  const refused = (bytes: number[], why: string) => { assert.throws(() => derToJose(Buffer.from(bytes), 32), /ECDSA signature/, why); };
  refused([0x31, 6, 0x02, 1, 1, 0x02, 1, 1], 'a SET, not a SEQUENCE');
  refused([0x30, 7, 0x02, 1, 1, 0x02, 1, 1], 'a length past the end');
  refused([0x30, 6, 0x02, 1, 1, 0x04, 1, 1], 'an OCTET STRING for S');
  refused([0x30, 6, 0x02, 0, 0x02, 2, 1, 1], 'an empty integer');
  refused([0x30, 6, 0x02, 1, 1, 0x02, 1], 'S cut short');
  refused([0x30, 5, 0x02, 1, 1, 0x02, 1, 1], 'a sequence shorter than its bytes');
  refused([0x30, 7, 0x02, 1, 1, 0x02, 1, 1, 0], 'a byte after the two integers');
  refused([0x30, 37, 0x02, 33, 1, ...new Array<number>(32).fill(1), 0x02, 1, 1], 'R longer than 32 bytes');
});

test('importPrivateKey: a key is used only for the algorithm it is made for', async () => {
  const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
  const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
  assert.equal(importPrivateKey(ec, 'ES256').asymmetricKeyType, 'ec');
  assert.equal(importPrivateKey(rsa, 'RS256').asymmetricKeyType, 'rsa');
  assert.throws(() => importPrivateKey(ec, 'RS256'), /not an RS256 key/);
  assert.throws(() => importPrivateKey(rsa, 'ES256'), /not an ES256 key/);
  assert.throws(() => importPrivateKey(p384, 'ES256'), /not an ES256 key/);
});
