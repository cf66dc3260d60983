// CSRF tokens for the page's forms: an HMAC of the flow id and the browser's secret (the HttpOnly
// cookie), so only the browser that owns the flow, on a page this server rendered, can post to it.
// Nothing is stored; the token is recomputed and compared in constant time.
import { timingSafeEqual } from 'node:crypto';
import type { SecretKeys } from '../../crypto/secret.ts';

export function csrfToken(secrets: SecretKeys, flowId: string, browserSecret: string): string {
  return secrets.hashCode('flow', `csrf:${flowId}:${browserSecret}`);
}

export function csrfValid(secrets: SecretKeys, flowId: string, browserSecret: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(csrfToken(secrets, flowId, browserSecret), 'utf8');
  const given = Buffer.from(presented, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
