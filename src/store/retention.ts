// How long rows outlive their expiry before a sweep deletes them: the same for every store.

/** Expired authorizations are kept this long so late polls still get `expired_token`, then swept. */
export const EXPIRED_RETENTION_MS = 60 * 60 * 1000;
/** Guess failures are kept for the longest budget window there can be (CODE_GUESS_WINDOW_SECONDS ≤ 1 day). */
export const GUESS_RETENTION_MS = 24 * 60 * 60 * 1000;
