// The audit trail (README "Audit trail"): one append-only event per security event, with stable type
// names. The engine makes the events; the store writes each one in the transaction of the change it
// describes (AuditOf in store/store.ts), so an approval without its event cannot exist. Events that
// accompany no change (a failed sign-in, an exhausted limit) are appended on their own. No event
// holds a secret, a code or a token: only ids, names and the request's context.
import { timeOrderedUuid } from '../crypto/codes.ts';
import type { Clock } from '../model/clock.ts';
import type { AuditEvent, AuditEventType, RequestContext } from '../model/records.ts';
import type { AuditStore } from '../store/store.ts';
import type { Telemetry } from './telemetry.ts';

/** Typed references for actor and subject, so a reader (and `audit list --user`) can match them. */
export const ref = {
  user: (id: string) => `user:${id}`,
  client: (id: string) => `client:${id}`,
  device: (id: string) => `device:${id}`,
  grant: (id: string) => `grant:${id}`,
  flow: (id: string) => `flow:${id}`,
  key: (kid: string) => `key:${kid}`,
  adminKey: (accessId: string) => `admin-key:${accessId}`,
  environment: (id: string) => `environment:${id}`,
  /** The command line, acting as the operator. */
  cli: 'cli',
} as const;

export interface EventInput {
  envId: string;
  type: AuditEventType;
  actor?: string | null;
  subject?: string | null;
  source?: RequestContext | null;
  outcome?: 'success' | 'failure';
  details?: Record<string, unknown>;
}

export interface AuditTrailDeps {
  store: { audit: AuditStore };
  clock: Clock;
  telemetry: Telemetry;
}

/** limit.exhausted is sampled: one event per limit and caller per window. */
const SAMPLED_KEYS = 10_000;

export class AuditTrail {
  readonly #d: AuditTrailDeps;
  /** `<limit>|<key>` → when its window ends; bounded, oldest first. */
  readonly #sampled = new Map<string, number>();

  constructor(deps: AuditTrailDeps) {
    this.#d = deps;
  }

  /** An event as of now; the caller hands it to the store with the write it describes. */
  event(e: EventInput): AuditEvent {
    const at = this.#d.clock.now();
    this.#d.telemetry.auditEvent(e.type);
    return {
      id: timeOrderedUuid(at),
      at,
      envId: e.envId,
      type: e.type,
      actor: e.actor ?? null,
      subject: e.subject ?? null,
      source: e.source ?? null,
      outcome: e.outcome ?? 'success',
      details: e.details ?? {},
    };
  }

  /** Appends events that accompany no change of state. */
  record(...events: AuditEvent[]): Promise<void> {
    return this.#d.store.audit.append(events);
  }

  /**
   * A limit refused a caller: recorded once per caller and window (`resetSeconds` says when the
   * window ends), so a flood is one event, not a flood of them. Never fails the request it describes.
   */
  async limitExhausted(envId: string, limit: string, key: string, resetSeconds: number, source: RequestContext | null): Promise<void> {
    const now = this.#d.clock.now();
    const id = `${limit}|${key}`;
    const until = this.#sampled.get(id);
    if (until !== undefined && until > now) return;
    this.#sampled.delete(id);
    this.#sampled.set(id, now + resetSeconds * 1000);
    if (this.#sampled.size > SAMPLED_KEYS) {
      const oldest = this.#sampled.keys().next();
      if (oldest.done !== true) this.#sampled.delete(oldest.value);
    }
    await this.record(this.event({
      envId, type: 'limit.exhausted', subject: `limit:${limit}`, source, outcome: 'failure', details: { limit, caller: key },
    })).catch(() => undefined);
  }
}

/** An event as the webhook and `audit list --json` show it: snake_case, ISO time, stable names. */
export function auditEventJson(e: AuditEvent): Record<string, unknown> {
  return {
    id: e.id,
    time: new Date(e.at).toISOString(),
    environment_id: e.envId,
    type: e.type,
    actor: e.actor,
    subject: e.subject,
    outcome: e.outcome,
    source: e.source === null ? null : {
      address: e.source.address, user_agent: e.source.userAgent, country: e.source.country, asn: e.source.asn, network: e.source.network,
    },
    details: e.details,
  };
}
