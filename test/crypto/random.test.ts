// Random bytes drawn from a block of the CSPRNG (src/crypto/random.ts): every byte handed out once,
// each draw the caller's own, large draws straight from the CSPRNG.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytesPooled } from '../../src/crypto/random.ts';

test('pooled random bytes: draws of every size the server makes are the size asked for and never repeat, across block refills', () => {
  const seen = new Set<string>();
  // 12-byte draws do not divide the 4 KiB block: refills happen with bytes left over.
  for (let i = 0; i < 3000; i++) {
    for (const n of [12, 16, 32]) {
      const b = randomBytesPooled(n);
      assert.equal(b.length, n);
      const hex = b.toString('hex');
      assert.ok(!seen.has(hex), `draw ${i} of ${n} bytes repeated an earlier one`);
      seen.add(hex);
    }
  }
  assert.equal(randomBytesPooled(0).length, 0);
});

test('pooled random bytes: a draw is the caller\'s own; changing it changes no other draw', () => {
  const a = randomBytesPooled(32);
  const copy = Buffer.from(a);
  a.fill(0);
  const b = randomBytesPooled(32);
  assert.notDeepEqual(b, a);
  a.set(copy);
  assert.notDeepEqual(b, a);
  assert.equal(b.buffer === a.buffer && b.byteOffset === a.byteOffset, false);
});

test('pooled random bytes: large draws bypass the block; a size that is not a byte count is refused', () => {
  const big = randomBytesPooled(10_000);
  assert.equal(big.length, 10_000);
  assert.ok(new Set(big).size > 200, 'the bytes are spread over the byte values');
  for (const n of [-1, 1.5, Number.NaN]) assert.throws(() => randomBytesPooled(n), RangeError);
});
