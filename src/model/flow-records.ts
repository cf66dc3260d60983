// The verification flow: one person's way through the page or the PingOne-style flow API, from
// sign-in to the decision on a device's code.
import type { Authentication } from './records.ts';

/** Verification flow states (the page and the PingOne flow API, docs/vendors.md). COMPLETED and FAILED are terminal. */
export const FLOW_STATUSES = [
  'USERNAME_PASSWORD_REQUIRED',
  'DAG_USER_CODE_REQUIRED',
  'DAG_CONSENT_REQUIRED',
  'COMPLETED',
  'FAILED',
] as const;
export type FlowStatus = (typeof FLOW_STATUSES)[number];

export interface Flow {
  id: string;
  envId: string;
  /** The application the flow was started for (/{envID}/device/{clientId}); any when null. */
  clientId: string | null;
  status: FlowStatus;
  /** HMAC of the secret held in the creating browser's HttpOnly cookie. */
  browserHash: string;
  userId: string | null;
  deviceId: string | null;
  /** The verified user code (display form), encrypted with the server secret. */
  userCodeEnc: string | null;
  /** How the signed-in user signed in; set with userId. */
  authentication: Authentication | null;
  /**
   * An upstream sign-in under way (federation): the keyed hash of its `state`, and its provider,
   * state, nonce and PKCE verifier encrypted with the server secret; null otherwise. Taken (cleared)
   * by the one callback that completes it, so a replayed callback finds nothing.
   */
  idpStateHash: string | null;
  idpPendingEnc: string | null;
  failedAttempts: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}
