// The audit trail's storage contract: events appended in the transaction of the change they describe,
// and the webhook's outbox (store.ts has the rest of the contract).
import type { AuditEvent, AuditEventType } from '../model/records.ts';

/**
 * The audit events of a write, made from what it wrote and stored in its transaction, so a change
 * and its event are committed together or not at all. Called only when the write took place.
 */
export type AuditOf<R> = (result: R) => readonly AuditEvent[];

export interface AuditFilter {
  envId?: string;
  types?: readonly AuditEventType[];
  /** Events whose actor or subject is this reference (e.g. `user:<id>`). */
  party?: string;
  /** At or after this time. */
  since?: number;
  /** The newest this many (still listed oldest first). */
  limit: number;
}

export interface AuditStore {
  /** Appends events that accompany no other write (a failed sign-in, an exhausted limit). */
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Matching events, oldest first. */
  list(filter: AuditFilter): Promise<AuditEvent[]>;
}

/** A batch of one environment's undelivered events, oldest first, and how often it failed. */
export interface OutboxBatch {
  envId: string;
  events: AuditEvent[];
  attempts: number;
}

/**
 * The durable outbox of the audit webhook: a row per event, written with the event when delivery is
 * on. Delivery is in order per environment and at least once: a batch leaves the outbox only after
 * its delivery was confirmed, and while one deliverer holds an environment's batch no other does.
 */
export interface AuditOutboxStore {
  /**
   * Offers the oldest due batch (at most `max` events) of one environment that no other deliverer
   * holds to `deliver`: when it resolves true the batch is removed, otherwise the batch's next
   * attempt is put off until `retryAt(attempts)`. False when nothing was due.
   */
  deliverNext(now: number, max: number, deliver: (batch: OutboxBatch) => Promise<boolean>, retryAt: (attempts: number) => number): Promise<boolean>;
  /** Events waiting for delivery. */
  pending(): Promise<number>;
}
