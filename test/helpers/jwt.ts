// JWT helpers shared by the token-attack tests of both facades.

/**
 * A token of about `target` characters: `sign` is called with ever longer padding until the
 * token reaches the length. Base64url grows by 4 characters per 3 bytes, so it steps most of the
 * way at once, then one byte at a time.
 */
export async function paddedToken(sign: (pad: string) => Promise<string>, target: number): Promise<string> {
  for (let n = 0; ; ) {
    const jwt = await sign('p'.repeat(n));
    if (jwt.length >= target) return jwt;
    n += Math.max(1, Math.floor(((target - jwt.length) * 3) / 4) - 2);
  }
}
