// Delivery of the audit trail to AUDIT_WEBHOOK_URL from the durable outbox (store/*/audit.ts): a
// batch of one environment's events is POSTed as `{"events": [...]}`, signed with HMAC-SHA-256
// keyed by AUDIT_WEBHOOK_SECRET (`Dcs-Signature: t=<unix seconds>,v1=<hex of HMAC("<t>.<body>")>`,
// so a receiver can check the body and reject old replays), and leaves the outbox only when the
// receiver answers 2xx. A failed batch waits with exponential backoff while the environment's later
// events wait behind it: delivery is at least once and in order per environment, across restarts
// and outages, because nothing is forgotten until it is confirmed.
import { createHmac } from 'node:crypto';
import { auditEventJson } from '../core/audit.ts';
import type { Telemetry } from '../core/telemetry.ts';
import type { Clock } from '../model/clock.ts';
import type { AuditOutboxStore, OutboxBatch } from '../store/store.ts';

/** The longest a receiver may take to answer one batch. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Events per POST. */
export const WEBHOOK_BATCH = 100;
/** Backoff after the n-th failure: 1 s, 2 s, 4 s … at most 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

export function signature(secret: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

export interface WebhookOptions {
  outbox: AuditOutboxStore;
  clock: Clock;
  telemetry: Telemetry;
  url: string;
  secret: string;
  /** How often an idle deliverer looks for new events (ms). */
  pollMs?: number;
  /** Failures are logged here (never the URL's credentials, never a body). */
  onError?: (message: string) => void;
}

export class AuditWebhook {
  readonly #o: WebhookOptions;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  /** Aborted by stop(): a receiver that holds a request open must not hold the shutdown too. */
  #abort = new AbortController();

  constructor(o: WebhookOptions) {
    this.#o = o;
  }

  /** Starts delivering in the background until stop(). */
  start(): void {
    if (this.#running) return;
    this.#stopping = false;
    this.#abort = new AbortController();
    this.#running = this.#loop();
  }

  /**
   * Stops now: a batch in flight is abandoned unconfirmed and stays in the outbox (delivered again
   * after a restart), so the shutdown does not wait up to WEBHOOK_TIMEOUT_MS for a slow receiver,
   * which is as long as the whole grace (SHUTDOWN_GRACE_SECONDS, 10 s by default).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#abort.abort();
    await this.#running;
    this.#running = undefined;
  }

  /** Delivers every due batch now; true when something was attempted. For the loop and for tests. */
  async drain(): Promise<boolean> {
    let any = false;
    const now = () => this.#o.clock.now();
    while (!this.#stopping && await this.#o.outbox.deliverNext(now(), WEBHOOK_BATCH, (b) => this.#post(b), (n) => now() + retryDelayMs(n))) any = true;
    return any;
  }

  async #loop(): Promise<void> {
    const pollMs = this.#o.pollMs ?? 1000;
    while (!this.#stopping) {
      try {
        await this.drain();
      } catch (err) {
        this.#o.onError?.(`audit webhook: the outbox could not be read: ${err instanceof Error ? err.message : String(err)}`);
      }
      // stop() may have come during the drain, before there was a sleep to cut short.
      if (this.#stopRequested()) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        timer.unref();
        this.#wake = () => { clearTimeout(timer); resolve(); };
      });
    }
  }

  #stopRequested(): boolean {
    return this.#stopping;
  }

  async #post(batch: OutboxBatch): Promise<boolean> {
    const body = JSON.stringify({ events: batch.events.map(auditEventJson) });
    const t = Math.floor(this.#o.clock.now() / 1000);
    try {
      const res = await fetch(this.#o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'dcs-signature': signature(this.#o.secret, t, body), 'user-agent': 'device-code-server audit webhook' },
        body,
        redirect: 'error',
        signal: AbortSignal.any([AbortSignal.timeout(WEBHOOK_TIMEOUT_MS), this.#abort.signal]),
      });
      await res.body?.cancel();
      const ok = res.status >= 200 && res.status < 300;
      this.#o.telemetry.auditWebhook(ok ? 'delivered' : 'failed', batch.events.length);
      if (!ok) this.#o.onError?.(`audit webhook: the receiver answered ${res.status}; ${batch.events.length} events wait (attempt ${batch.attempts + 1})`);
      return ok;
    } catch (err) {
      this.#o.telemetry.auditWebhook('failed', batch.events.length);
      const why = this.#stopping ? 'stopped before the receiver answered' : failure(err);
      this.#o.onError?.(`audit webhook: ${why}; ${batch.events.length} events wait (attempt ${batch.attempts + 1})`);
      return false;
    }
  }
}

/**
 * Why a request failed, for the log: fetch says only "fetch failed" and keeps the reason (refused,
 * unknown host, TLS) in its cause. The cause's code, or its message, which names no credentials
 * (config.ts refuses a URL that holds any).
 */
function failure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  if (!(cause instanceof Error)) return err.message;
  const code = (cause as NodeJS.ErrnoException).code;
  return `${err.message} (${code ?? cause.message})`;
}
