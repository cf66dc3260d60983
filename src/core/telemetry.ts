// What the engine reports as it works, for metrics (README "Operations"): counts only, never a
// code, a user or a client id (labels stay few and bounded). The engine calls these; ops decides
// where they go.
import { isCoreError } from './errors.ts';

export interface Telemetry {
  deviceAuthorization(): void;
  /** One poll of the token endpoint: `token` when a token was issued, else the error code. */
  poll(outcome: string): void;
  /** A step of verification (page or flow API) and how it ended: `ok` or the error code. */
  verification(step: 'sign_in' | 'user_code' | 'consent', outcome: string): void;
  wrongCode(kind: CodeKind): void;
  guessBudgetExhausted(kind: CodeKind): void;
  /** A request refused by the named limit. */
  rateLimited(limit: string): void;
  /** A check of the named limit that Redis could not answer, counted in this process instead. */
  rateLimitFallback(limit: string): void;
  registrationCode(event: 'issued' | 'redeemed'): void;
  tokenIssued(kind: 'access' | 'session' | 'id'): void;
  /** One use of a refresh token: `ok` or the error code. */
  refresh(outcome: string): void;
  /** A rotated-out refresh token presented again: its grant was revoked. */
  refreshReuse(): void;
  /** A redeemed device code presented again: the grant it opened was revoked. */
  deviceCodeReuse(): void;
  revocation(kind: 'grant' | 'refresh_token' | 'access_token'): void;
  /** One UserInfo request: `ok` or the error code. */
  userInfo(outcome: string): void;
  /** An audit event made (by its stable type name). */
  auditEvent(type: string): void;
  /** One delivery attempt of the audit webhook: `delivered` or `failed`; `events` it carried. */
  auditWebhook(outcome: 'delivered' | 'failed', events: number): void;
  /** A person reported a device request they did not start ("I didn't start this"); it was denied. */
  deviceReported(): void;
}

export type CodeKind = 'user_code' | 'registration_code';

const nothing = (): void => undefined;

export const noTelemetry: Telemetry = {
  deviceAuthorization: nothing,
  poll: nothing,
  verification: nothing,
  wrongCode: nothing,
  guessBudgetExhausted: nothing,
  rateLimited: nothing,
  rateLimitFallback: nothing,
  registrationCode: nothing,
  tokenIssued: nothing,
  refresh: nothing,
  refreshReuse: nothing,
  deviceCodeReuse: nothing,
  revocation: nothing,
  userInfo: nothing,
  auditEvent: nothing,
  auditWebhook: nothing,
  deviceReported: nothing,
};

/** The outcome label of a failure: the closed-set code, or `error` for anything else. */
export function outcomeOf(err: unknown): string {
  return isCoreError(err) ? err.code : 'error';
}
