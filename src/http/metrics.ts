// Prometheus metrics (README "Operations"): HTTP requests by route and status with latency, what the engine
// reports through Telemetry (device authorizations, polls and verifications by outcome, wrong
// codes, budgets spent, rate-limit refusals, registration codes, tokens), and process metrics.
// Each app has its own registry (tests build many); process metrics are collected once.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CodeKind, Telemetry } from '../core/telemetry.ts';

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'dcs_' });
  }
  return processRegistry;
}

export class Metrics implements Telemetry {
  readonly registry = new Registry();
  readonly #requests = this.#counter('dcs_http_requests_total', 'HTTP requests by method, route template and status', ['method', 'route', 'status']);
  readonly #duration = new Histogram({
    name: 'dcs_http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #deviceAuthorizations = this.#counter('dcs_device_authorizations_total', 'Device authorizations issued', []);
  readonly #polls = this.#counter('dcs_token_polls_total', 'Device-code polls of the token endpoint by outcome (token, authorization_pending, slow_down, …)', ['outcome']);
  readonly #verifications = this.#counter('dcs_verifications_total', 'Verification steps (page and flow API) by step and outcome', ['step', 'outcome']);
  readonly #wrongCodes = this.#counter('dcs_wrong_codes_total', 'Wrong user codes and registration codes entered', ['kind']);
  readonly #budgets = this.#counter('dcs_guess_budget_exhausted_total', 'Codes refused because the source spent its wrong-code budget', ['kind']);
  readonly #limited = this.#counter('dcs_rate_limited_total', 'Requests refused by a rate limit, by limit', ['limit']);
  readonly #fallbacks = this.#counter('dcs_rate_limit_fallbacks_total', 'Rate-limit checks Redis could not answer, counted in this process instead, by limit', ['limit']);
  readonly #registration = this.#counter('dcs_registration_codes_total', 'Device registration codes issued and redeemed', ['event']);
  readonly #tokens = this.#counter('dcs_tokens_issued_total', 'Tokens issued by kind (access: device grant and refresh; id: OpenID Connect ID token; session: Veeam facade)', ['kind']);
  readonly #refreshes = this.#counter('dcs_refreshes_total', 'Uses of refresh tokens by outcome (ok, invalid_grant, …)', ['outcome']);
  readonly #reuse = this.#counter('dcs_refresh_reuse_total', 'Rotated-out refresh tokens presented again (the grant was revoked)', []);
  readonly #deviceCodeReuse = this.#counter('dcs_device_code_reuse_total', 'Redeemed device codes presented again (the grant they opened was revoked)', []);
  readonly #revocations = this.#counter('dcs_revocations_total', 'Revocations by kind (grant, refresh_token, access_token)', ['kind']);
  readonly #auditEvents = this.#counter('dcs_audit_events_total', 'Audit events made, by type', ['type']);
  readonly #webhookAttempts = this.#counter('dcs_audit_webhook_deliveries_total', 'Delivery attempts of the audit webhook by outcome (delivered, failed)', ['outcome']);
  readonly #webhookEvents = this.#counter('dcs_audit_webhook_events_total', 'Audit events delivered to the webhook', []);
  readonly #userInfo = this.#counter('dcs_userinfo_total', 'UserInfo answers by outcome (ok, invalid_token, insufficient_scope, …)', ['outcome']);
  readonly #reports = this.#counter('dcs_device_reports_total', 'Device requests reported by the person asked to approve them ("I didn\'t start this"); each was denied', []);

  #counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#duration.observe({ method, route }, seconds);
  }

  deviceAuthorization(): void {
    this.#deviceAuthorizations.inc();
  }

  poll(outcome: string): void {
    this.#polls.inc({ outcome });
  }

  verification(step: 'sign_in' | 'user_code' | 'consent', outcome: string): void {
    this.#verifications.inc({ step, outcome });
  }

  wrongCode(kind: CodeKind): void {
    this.#wrongCodes.inc({ kind });
  }

  guessBudgetExhausted(kind: CodeKind): void {
    this.#budgets.inc({ kind });
  }

  rateLimited(limit: string): void {
    this.#limited.inc({ limit });
  }

  rateLimitFallback(limit: string): void {
    this.#fallbacks.inc({ limit });
  }

  /** With REDIS_URL: dcs_redis_up, 1 while Redis answers, read at each scrape. */
  watchRedis(up: () => boolean): void {
    new Gauge({
      name: 'dcs_redis_up',
      help: 'Whether Redis (REDIS_URL) answered last: 1 up, 0 down (limits then count per instance; codes are refused)',
      registers: [this.registry],
      collect() { this.set(up() ? 1 : 0); },
    });
  }

  /** On SQLite: dcs_sqlite_checkpoints_up, 1 while the checkpoint thread runs and its last pass succeeded, read at each scrape. */
  watchCheckpoints(running: () => boolean): void {
    new Gauge({
      name: 'dcs_sqlite_checkpoints_up',
      help: 'Whether the SQLite checkpoint thread runs: 1 yes, 0 failed or stopped (commits then checkpoint themselves, every ~40 MB of WAL)',
      registers: [this.registry],
      collect() { this.set(running() ? 1 : 0); },
    });
  }

  /** With AUDIT_WEBHOOK_URL: dcs_audit_webhook_pending, the events waiting in the outbox, read at each scrape. */
  watchAuditOutbox(pending: () => Promise<number>): void {
    new Gauge({
      name: 'dcs_audit_webhook_pending',
      help: 'Audit events in the webhook outbox, not yet delivered',
      registers: [this.registry],
      async collect() { this.set(await pending().catch(() => -1)); },
    });
  }

  registrationCode(event: 'issued' | 'redeemed'): void {
    this.#registration.inc({ event });
  }

  tokenIssued(kind: 'access' | 'session' | 'id'): void {
    this.#tokens.inc({ kind });
  }

  refresh(outcome: string): void {
    this.#refreshes.inc({ outcome });
  }

  refreshReuse(): void {
    this.#reuse.inc();
  }

  deviceCodeReuse(): void {
    this.#deviceCodeReuse.inc();
  }

  revocation(kind: 'grant' | 'refresh_token' | 'access_token'): void {
    this.#revocations.inc({ kind });
  }

  userInfo(outcome: string): void {
    this.#userInfo.inc({ outcome });
  }

  auditEvent(type: string): void {
    this.#auditEvents.inc({ type });
  }

  auditWebhook(outcome: 'delivered' | 'failed', events: number): void {
    this.#webhookAttempts.inc({ outcome });
    if (outcome === 'delivered') this.#webhookEvents.inc(events);
  }

  deviceReported(): void {
    this.#reports.inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: this app's metrics, then the process's. */
  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }
}
