// The verification flow: how a person approves a device. One state machine, two front ends (the
// HTML page and the PingOne-style flow API).
//   USERNAME_PASSWORD_REQUIRED ─sign in─▶ DAG_USER_CODE_REQUIRED ─code─▶ DAG_CONSENT_REQUIRED ─accept─▶ COMPLETED
//                                              └─5 wrong codes─▶ FAILED              └─refuse or report─▶ FAILED
// A flow is bound to the browser that started it and expires after 15 minutes without activity.
// Once the flow has a device, its view carries where the device's request came from and what differs
// from where the person looking is (request-context.ts); the consent records it, and "I didn't
// start this" (a report) denies the device like a refusal and is recorded and counted as such.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { formatUserCode, normalizeUserCode, type UserCodeFormat } from '../crypto/codes.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import type { AuditEventType, Authentication, DeviceAuthorization, Environment, Flow, FlowStatus, RequestContext, User } from '../model/records.ts';
import type { AuditOf, FlowPatch, Store } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import type { DeviceFlow } from './device-flow.ts';
import { CoreError, isCoreError } from './errors.ts';
import type { GuessBudget } from './guess-budget.ts';
import { passwordSignIn } from './identity.ts';
import type { ConsentAnswer, FlowView } from './flow-view.ts';
import { locationWarnings, UNKNOWN_CONTEXT } from './request-context.ts';
import { parseScopeList } from './scopes.ts';
import type { PasswordSignIn } from './sign-in.ts';
import { outcomeOf, type Telemetry } from './telemetry.ts';

export type { ConsentAnswer, DeviceRequestView, FlowView } from './flow-view.ts';

export const FLOW_IDLE_MS = 15 * 60 * 1000;
/** The fifth wrong code fails the flow (RFC 8628 §5.1; the number is ours). */
export const MAX_CODE_ATTEMPTS = 5;

export interface VerificationDeps {
  store: Store;
  clock: Clock;
  secrets: SecretKeys;
  deviceFlow: DeviceFlow;
  userCode: UserCodeFormat;
  guesses: GuessBudget;
  passwords: PasswordSignIn;
  telemetry: Telemetry;
  audit: AuditTrail;
}

/** The answer of a step sent again (counted apart from the first). */
class Repeated {
  readonly view: FlowView;

  constructor(view: FlowView) {
    this.view = view;
  }
}

export class Verification {
  readonly #d: VerificationDeps;

  constructor(deps: VerificationDeps) {
    this.#d = deps;
  }

  /** A new flow for the browser holding `browserSecret`; `clientId` pins it to one application. */
  async start(env: Environment, browserSecret: string, clientId?: string): Promise<Flow> {
    if (clientId !== undefined && !(await this.#d.store.clients.get(env.id, clientId))) {
      throw new CoreError('not_found', 'unknown application');
    }
    const now = this.#d.clock.now();
    const flow: Flow = {
      id: randomUUID(),
      envId: env.id,
      clientId: clientId ?? null,
      status: 'USERNAME_PASSWORD_REQUIRED',
      browserHash: this.#d.secrets.hashCode('flow', browserSecret),
      userId: null,
      deviceId: null,
      userCodeEnc: null,
      authentication: null,
      idpStateHash: null,
      idpPendingEnc: null,
      failedAttempts: 0,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + FLOW_IDLE_MS,
    };
    await this.#d.store.flows.create(flow);
    return flow;
  }

  /** The flow, if it exists, is unexpired and belongs to this browser; otherwise flow_not_found. */
  async load(env: Environment, flowId: string, browserSecret: string | undefined): Promise<Flow> {
    const flow = await this.#d.store.flows.get(env.id, flowId, this.#d.clock.now());
    const presented = browserSecret === undefined ? undefined : Buffer.from(this.#d.secrets.hashCode('flow', browserSecret), 'hex');
    const expected = flow ? Buffer.from(flow.browserHash, 'hex') : undefined;
    if (!flow || !presented || !expected || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw new CoreError('flow_not_found', 'the flow does not exist or has expired');
    }
    return flow;
  }

  /** The flow as `viewer` (where the request asking for it came from) should see it. */
  async view(flow: Flow, viewer: RequestContext | null): Promise<FlowView> {
    const v: FlowView = { flow, at: this.#d.clock.now() };
    const user = flow.userId === null ? undefined : await this.#d.store.users.get(flow.envId, flow.userId);
    if (user) v.user = { id: user.id, username: user.username, ...(user.name === null ? {} : { name: user.name }) };
    const device = flow.deviceId === null ? undefined : await this.#d.store.deviceAuthorizations.get(flow.envId, flow.deviceId);
    const clientId = device?.clientId ?? flow.clientId;
    const client = clientId === null ? undefined : await this.#d.store.clients.get(flow.envId, clientId);
    if (client) v.application = { name: client.name };
    if (device) {
      v.scopes = parseScopeList(device.scope);
      v.request = { requestedAt: device.createdAt, expiresAt: device.expiresAt, source: device.requestContext ?? { ...UNKNOWN_CONTEXT } };
      v.warnings = locationWarnings(device.requestContext, viewer);
      // Reported by this flow's person (a device is decided by one flow at most).
      if (flow.status === 'FAILED' && device.reportedAt !== null && device.userId === flow.userId) v.reported = true;
    }
    if (flow.userCodeEnc !== null) v.userCode = this.#d.secrets.decrypt(flow.userCodeEnc);
    return v;
  }

  signIn(
    env: Environment, flowId: string, browserSecret: string | undefined, username: string, password: string, viewer: RequestContext | null,
  ): Promise<FlowView> {
    return this.#observed('sign_in', async () => {
      const flow = await this.#at(env, flowId, browserSecret, 'USERNAME_PASSWORD_REQUIRED', 'DAG_USER_CODE_REQUIRED');
      // An environment that signs people in through its identity providers only has no passwords to try.
      if (!env.passwordSignIn) throw new CoreError('forbidden', 'password sign-in is off in this environment');
      if (flow.status === 'DAG_USER_CODE_REQUIRED') {
        // Sent again: the same person's right password repeats the answer; anything else was never this step's.
        const user = await this.#d.passwords.signIn(env.id, username, password).catch((err: unknown) => {
          if (isCoreError(err) && err.code === 'invalid_credentials') return undefined;
          throw err;
        });
        return this.#repeated(flow, user !== undefined && user.id === flow.userId, viewer);
      }
      const user = await this.#d.passwords.signIn(env.id, username, password);
      return this.#advance(flow, 'USERNAME_PASSWORD_REQUIRED', {
        status: 'DAG_USER_CODE_REQUIRED', userId: user.id, authentication: passwordSignIn(this.#d.clock.now()),
      }, viewer, (f) => [this.#d.audit.event({
        envId: f.envId, type: 'signin.succeeded', actor: ref.user(user.id), subject: ref.flow(f.id), source: viewer,
        details: { username: user.username, method: 'password' },
      })]);
    });
  }

  /**
   * The sign-in step done by an upstream provider (federation, src/federation/): the flow moves on
   * as after a password, with the upstream's sign-in (acr, amr, auth_time) as the person's own.
   * The caller has checked the flow's browser and taken its upstream sign-in.
   */
  signInFederated(flow: Flow, user: User, authentication: Authentication, viewer: RequestContext | null, audit: AuditOf<Flow>): Promise<FlowView> {
    return this.#observed('sign_in', () => this.#advance(flow, 'USERNAME_PASSWORD_REQUIRED', {
      status: 'DAG_USER_CODE_REQUIRED', userId: user.id, authentication,
    }, viewer, audit));
  }

  /**
   * RFC 8628 §5.1: wrong codes count per flow (5, then FAILED) and per source address (a budget).
   * `source`: the approver's network key (src/core/networks.ts), which a client that wants its
   * approver on the device's network compares with the device's (README "Device policy").
   */
  verifyUserCode(
    env: Environment, flowId: string, browserSecret: string | undefined, input: string, source: string, viewer: RequestContext | null,
  ): Promise<FlowView> {
    return this.#observed('user_code', () => this.#verifyUserCode(env, flowId, browserSecret, input, source, viewer));
  }

  async #verifyUserCode(
    env: Environment, flowId: string, browserSecret: string | undefined, input: string, source: string, viewer: RequestContext | null,
  ): Promise<FlowView | Repeated> {
    const flow = await this.#at(env, flowId, browserSecret, 'DAG_USER_CODE_REQUIRED', 'DAG_CONSENT_REQUIRED');
    if (flow.status === 'DAG_CONSENT_REQUIRED') {
      // Sent again: the code this flow verified repeats the answer (no guess is spent on it).
      const canonical = normalizeUserCode(input, this.#d.userCode);
      const same = canonical !== undefined && flow.userCodeEnc !== null && this.#d.secrets.decrypt(flow.userCodeEnc) === formatUserCode(canonical);
      return this.#repeated(flow, same, viewer);
    }
    try {
      return await this.#d.guesses.spend(source, 'user_code', async () => {
        const device = await this.#d.deviceFlow.findPendingByUserCode(env, input);
        if (flow.clientId !== null && device.clientId !== flow.clientId) {
          throw new CoreError('invalid_user_code', 'that code is not valid', { target: 'userCode' });
        }
        await this.#assertSameNetwork(env, device, source);
        const canonical = normalizeUserCode(input, this.#d.userCode) ?? input;
        return await this.#advance(flow, 'DAG_USER_CODE_REQUIRED', {
          status: 'DAG_CONSENT_REQUIRED',
          deviceId: device.id,
          userCodeEnc: this.#d.secrets.encrypt(formatUserCode(canonical)),
        }, viewer);
      });
    } catch (err) {
      if (!isCoreError(err) || err.code !== 'invalid_user_code') throw err;
      const counted = await this.#d.store.flows.recordFailure(flow.id, MAX_CODE_ATTEMPTS, this.#d.clock.now(), (f) => [this.#d.audit.event({
        envId: f.envId, type: 'device.code_rejected', actor: f.userId === null ? null : ref.user(f.userId), subject: ref.flow(f.id), source: viewer, outcome: 'failure',
        details: { failed_attempts: f.failedAttempts, flow_failed: f.status === 'FAILED' },
      })]);
      if (!counted) throw new CoreError('flow_wrong_state', 'the flow is no longer waiting for a code');
      const failuresRemaining = Math.max(0, MAX_CODE_ATTEMPTS - counted.failedAttempts);
      if (counted.status === 'FAILED') {
        throw new CoreError('too_many_attempts', 'too many wrong codes; start again from your device', { target: 'userCode', failuresRemaining: 0 });
      }
      throw new CoreError('invalid_user_code', err.message, { target: 'userCode', failuresRemaining });
    }
  }

  /**
   * RFC 8628 §5.4: a phisher relays a code they requested to a victim elsewhere. A client that
   * wants its approver on the device's network (a TV and the phone in the same home: one public
   * IPv4 address, or one IPv6 /64) refuses an approver from any other network, or when the
   * device's network is not known. The code was right: the guess is given back, no attempt counted.
   */
  async #assertSameNetwork(env: Environment, device: DeviceAuthorization, source: string): Promise<void> {
    const client = await this.#d.store.clients.get(env.id, device.clientId);
    if (client?.devicePolicy.sameNetwork !== true || (device.sourceNetwork !== null && device.sourceNetwork === source)) return;
    throw new CoreError('network_mismatch', 'this code can only be approved from the network of the device that shows it', { target: 'userCode' });
  }

  /**
   * Approval gives the device its token; a denial gives it access_denied, and so does a report ("I
   * didn't start this"), which is also recorded on the device and counted. `approver` is where the
   * person deciding is: it is recorded with the decision, with whether it differed from where the
   * request came from (the warnings their consent screen showed).
   */
  consent(env: Environment, flowId: string, browserSecret: string | undefined, answer: ConsentAnswer, approver: RequestContext | null): Promise<FlowView> {
    const outcome = answer === 'approve' ? 'approved' : answer === 'deny' ? 'denied' : 'reported';
    return this.#observed('consent', () => this.#consent(env, flowId, browserSecret, answer, approver), outcome);
  }

  async #consent(env: Environment, flowId: string, browserSecret: string | undefined, answer: ConsentAnswer, approver: RequestContext | null): Promise<FlowView | Repeated> {
    // Only an approval is repeated: COMPLETED says this flow approved, while FAILED does not say
    // whether this flow refused or another decided the device first.
    const flow = await this.#at(env, flowId, browserSecret, 'DAG_CONSENT_REQUIRED', ...(answer === 'approve' ? ['COMPLETED' as const] : []));
    if (flow.status === 'COMPLETED') return this.#repeated(flow, true, approver);
    const user = flow.userId === null ? undefined : await this.#d.store.users.get(env.id, flow.userId);
    if (!user || user.disabled) throw new CoreError('access_denied', 'this account can no longer approve devices');
    const requested = flow.deviceId === null ? undefined : await this.#d.store.deviceAuthorizations.get(env.id, flow.deviceId);
    const locationMismatch = locationWarnings(requested?.requestContext ?? null, approver).length > 0;
    const now = this.#d.clock.now();
    const decided: AuditEventType = answer === 'approve' ? 'device.approved' : answer === 'deny' ? 'device.denied' : 'device.reported';
    const result = await this.#d.store.flows.decide(flow.id, answer === 'approve', now, { approver, locationMismatch, reported: answer === 'report' },
      (f) => [this.#d.audit.event({
        envId: f.envId, type: decided, actor: ref.user(user.id), subject: f.deviceId === null ? ref.flow(f.id) : ref.device(f.deviceId), source: approver,
        outcome: answer === 'approve' ? 'success' : 'failure',
        // Both contexts: where the request came from (the event's source is the approver's).
        details: { flow: f.id, username: user.username, location_mismatch: locationMismatch, requester: requested?.requestContext ?? null },
      })]);
    if (result === 'flow_changed') throw new CoreError('flow_wrong_state', 'this request was already answered');
    if (result === 'device_unavailable') {
      const device = flow.deviceId === null ? undefined : await this.#d.store.deviceAuthorizations.get(env.id, flow.deviceId);
      if (!device || now >= device.expiresAt) throw new CoreError('user_code_expired', 'that code has expired', { target: 'userCode' });
      throw new CoreError('user_code_used', 'that code has already been used', { target: 'userCode' });
    }
    if (answer === 'report') this.#d.telemetry.deviceReported();
    return this.view(await this.load(env, flow.id, browserSecret), approver);
  }

  /**
   * Sent again: the step's answer never arrived (the database went away after the step was
   * stored and before its answer was made, so it was a 503) and the caller repeats it. The same
   * step with the same input, on a flow this step has already moved on, is answered as the first
   * one would have been and changes nothing; any other step there is flow_wrong_state.
   */
  #repeated(flow: Flow, same: boolean, viewer: RequestContext | null): Promise<FlowView | Repeated> {
    if (!same) throw new CoreError('flow_wrong_state', `the flow is ${flow.status}`);
    return this.view(flow, viewer).then((view) => new Repeated(view));
  }

  /** Runs a step and reports how it ended: `ok` (or `success`), `repeated`, or the error code. */
  async #observed(step: 'sign_in' | 'user_code' | 'consent', fn: () => Promise<FlowView | Repeated>, success = 'ok'): Promise<FlowView> {
    try {
      const result = await fn();
      if (result instanceof Repeated) {
        this.#d.telemetry.verification(step, 'repeated');
        return result.view;
      }
      this.#d.telemetry.verification(step, success);
      return result;
    } catch (err) {
      this.#d.telemetry.verification(step, outcomeOf(err));
      throw err;
    }
  }

  /** The flow, at one of `statuses` (the step's own, then the one it leads to: a repeat). */
  async #at(env: Environment, flowId: string, browserSecret: string | undefined, ...statuses: FlowStatus[]): Promise<Flow> {
    const flow = await this.load(env, flowId, browserSecret);
    if (!statuses.includes(flow.status)) throw new CoreError('flow_wrong_state', `the flow is ${flow.status}`);
    return flow;
  }

  async #advance(flow: Flow, from: FlowStatus, patch: FlowPatch, viewer: RequestContext | null, audit?: AuditOf<Flow>): Promise<FlowView> {
    const now = this.#d.clock.now();
    const next = await this.#d.store.flows.transition(flow.id, from, patch, now, now + FLOW_IDLE_MS, audit);
    if (!next) throw new CoreError('flow_wrong_state', 'the flow changed meanwhile');
    return this.view(next, viewer);
  }
}

