// Shared steps of the reliability tests: the rate limits lifted (these tests are about storage and
// processes, not budgets), and the checks every one of them ends with.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';

/** Budgets high enough that no load here is ever throttled (the limits have their own tests). */
export const UNLIMITED: Readonly<Record<string, string>> = {
  RATE_LIMIT_DEVICE_AUTHORIZATION: '1000000',
  RATE_LIMIT_TOKEN: '1000000',
  RATE_LIMIT_DISCOVERY: '1000000',
  RATE_LIMIT_VERIFICATION: '1000000',
  RATE_LIMIT_SESSION: '1000000',
  RATE_LIMIT_ADMIN_API: '1000000',
  RATE_LIMIT_DEVICE_REGISTRATION: '1000000',
  RATE_LIMIT_CLIENT_AUTH_FAILURES: '1000000',
  CODE_GUESS_BUDGET: '1000',
};

export const CHECK = 'application/vnd.pingidentity.usernamePassword.check+json';
export const VERIFY = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';
export const CONSENT = 'application/vnd.pingidentity.deviceAuthGrant.consent+json';

/**
 * SQLite's own verdict on the file, through a connection of its own (another process's view):
 * every page and index is sound, and no row points at a missing parent.
 */
export function assertDatabaseIntact(file: string): void {
  const db = new Database(file, { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(db.pragma('foreign_key_check'), []);
  } finally {
    db.close();
  }
}

/** The first cookie a response sets, as a Cookie header (`name=value`). */
export function cookieOf(setCookie: string | string[] | null | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  const pair = first?.split(';')[0];
  assert.ok(pair !== undefined && pair.includes('='), `a cookie was set: ${String(setCookie)}`);
  return pair;
}

/** The flowId of a /device redirect's Location. */
export function flowIdOf(location: string | string[] | number | undefined): string {
  const id = new URL(String(location)).searchParams.get('flowId');
  assert.ok(id !== null && id !== '', `a flowId in ${String(location)}`);
  return id;
}
