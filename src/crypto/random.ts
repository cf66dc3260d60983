// Random bytes for the request paths, drawn from node:crypto's CSPRNG a block at a time.
//
// Each randomBytes() call pays a fixed cost whatever its size (a getpid system call and OpenSSL's
// checks on every call: ~5 µs on the bench machine, against ~0.3 µs for 32 bytes from a block),
// and a device authorization, a token response or a refresh makes several small draws.
// One 4 KiB draw serves ~128 of them (bench/RESULTS.md, "Random bytes from a pool"). Node's own
// crypto.randomUUID() keeps such a pool for the same reason.
//
// Every byte of the block is handed out once and then zeroed in the block, so no two callers share
// bytes and the block never holds what was already given out. Large draws bypass the block. Bytes
// not yet handed out are no more exposed than the generator's own state, which lives in the same
// memory and determines every later output anyway.
import { randomBytes } from 'node:crypto';

const BLOCK_BYTES = 4096;
/** Draws above this go straight to the CSPRNG: they would use up a block for little gain. */
const MAX_POOLED_BYTES = 256;

let block = Buffer.alloc(0);
let offset = 0;

/** `n` cryptographically strong random bytes, owned by the caller. */
export function randomBytesPooled(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`cannot draw ${String(n)} random bytes`);
  if (n > MAX_POOLED_BYTES) return randomBytes(n);
  if (offset + n > block.length) {
    block = randomBytes(BLOCK_BYTES);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(n);
  block.copy(out, 0, offset, offset + n);
  block.fill(0, offset, offset + n);
  offset += n;
  return out;
}
