// The audit trail's record (README "Audit trail"): one security event, append-only.
import type { RequestContext } from './records.ts';

/** The stable names of audit events (README "Audit trail"); documented, never renamed. */
export const AUDIT_EVENT_TYPES = [
  'device.requested', 'device.code_rejected', 'device.approved', 'device.denied', 'device.reported',
  'token.issued', 'token.refreshed', 'token.reuse_detected', 'grant.revoked',
  'signin.succeeded', 'signin.failed', 'signin.federated',
  'admin.changed', 'key.rotated', 'registration.issued', 'registration.redeemed', 'limit.exhausted',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * One security event, append-only: written in the same transaction as the change it describes.
 * `actor` and `subject` are typed references (`user:<id>`, `client:<id>`, `device:<id>`,
 * `grant:<id>`, `admin-key:<accessId>`, `cli`, `system`); `details` never holds a secret, a code or
 * a token.
 */
export interface AuditEvent {
  /** UUIDv7: ordered by time. */
  id: string;
  at: number;
  envId: string;
  type: AuditEventType;
  actor: string | null;
  subject: string | null;
  source: RequestContext | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}
