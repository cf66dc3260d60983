// The verification flow: how a person approves a device. One state machine, two front ends (the
// HTML page and the PingOne-style flow API).
//   USERNAME_PASSWORD_REQUIRED ─sign in─▶ DAG_USER_CODE_REQUIRED ─code─▶ DAG_CONSENT_REQUIRED ─accept─▶ COMPLETED
//                                              └─5 wrong codes─▶ FAILED              └─refuse─▶ FAILED
// A flow is bound to the browser that started it and expires after 15 minutes without activity.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { formatUserCode, normalizeUserCode, type UserCodeFormat } from '../crypto/codes.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import type { DeviceAuthorization, Environment, Flow, FlowStatus } from '../model/records.ts';
import type { AuditOf, FlowPatch, Store } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import type { DeviceFlow } from './device-flow.ts';
import { CoreError, isCoreError } from './errors.ts';
import type { GuessBudget } from './guess-budget.ts';
import { passwordSignIn } from './identity.ts';
import { parseScopeList } from './scopes.ts';
import type { PasswordSignIn } from './sign-in.ts';
import { outcomeOf, type Telemetry } from './telemetry.ts';

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

/** What a front end shows for a flow. */
export interface FlowView {
  flow: Flow;
  /** The signed-in person; `name` when their profile has one. */
  user?: { id: string; username: string; name?: string };
  application?: { name: string };
  scopes?: string[];
  /** The verified code in display form (consent screen). */
  userCode?: string;
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

  async view(flow: Flow): Promise<FlowView> {
    const v: FlowView = { flow };
    const user = flow.userId === null ? undefined : await this.#d.store.users.get(flow.envId, flow.userId);
    if (user) v.user = { id: user.id, username: user.username, ...(user.name === null ? {} : { name: user.name }) };
    const device = flow.deviceId === null ? undefined : await this.#d.store.deviceAuthorizations.get(flow.envId, flow.deviceId);
    const clientId = device?.clientId ?? flow.clientId;
    const client = clientId === null ? undefined : await this.#d.store.clients.get(flow.envId, clientId);
    if (client) v.application = { name: client.name };
    if (device) v.scopes = parseScopeList(device.scope);
    if (flow.userCodeEnc !== null) v.userCode = this.#d.secrets.decrypt(flow.userCodeEnc);
    return v;
  }

  signIn(env: Environment, flowId: string, browserSecret: string | undefined, username: string, password: string): Promise<FlowView> {
    return this.#observed('sign_in', async () => {
      const flow = await this.#at(env, flowId, browserSecret, 'USERNAME_PASSWORD_REQUIRED');
      const user = await this.#d.passwords.signIn(env.id, username, password);
      return this.#advance(flow, 'USERNAME_PASSWORD_REQUIRED', {
        status: 'DAG_USER_CODE_REQUIRED', userId: user.id, authentication: passwordSignIn(this.#d.clock.now()),
      }, (f) => [this.#d.audit.event({
        envId: f.envId, type: 'signin.succeeded', actor: ref.user(user.id), subject: ref.flow(f.id), details: { username: user.username, method: 'password' },
      })]);
    });
  }

  /**
   * RFC 8628 §5.1: wrong codes count per flow (5, then FAILED) and per source address (a budget).
   * `source`: the approver's network key (src/core/networks.ts), which a client that wants its
   * approver on the device's network compares with the device's (README "Device policy").
   */
  verifyUserCode(env: Environment, flowId: string, browserSecret: string | undefined, input: string, source: string): Promise<FlowView> {
    return this.#observed('user_code', () => this.#verifyUserCode(env, flowId, browserSecret, input, source));
  }

  async #verifyUserCode(env: Environment, flowId: string, browserSecret: string | undefined, input: string, source: string): Promise<FlowView> {
    const flow = await this.#at(env, flowId, browserSecret, 'DAG_USER_CODE_REQUIRED');
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
        });
      });
    } catch (err) {
      if (!isCoreError(err) || err.code !== 'invalid_user_code') throw err;
      const counted = await this.#d.store.flows.recordFailure(flow.id, MAX_CODE_ATTEMPTS, this.#d.clock.now(), (f) => [this.#d.audit.event({
        envId: f.envId, type: 'device.code_rejected', actor: f.userId === null ? null : ref.user(f.userId), subject: ref.flow(f.id), outcome: 'failure',
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

  /** Accept approves the device (it gets its token); refusal denies it (it gets access_denied). */
  consent(env: Environment, flowId: string, browserSecret: string | undefined, accept: boolean): Promise<FlowView> {
    return this.#observed('consent', () => this.#consent(env, flowId, browserSecret, accept), accept ? 'approved' : 'denied');
  }

  async #consent(env: Environment, flowId: string, browserSecret: string | undefined, accept: boolean): Promise<FlowView> {
    const flow = await this.#at(env, flowId, browserSecret, 'DAG_CONSENT_REQUIRED');
    const user = flow.userId === null ? undefined : await this.#d.store.users.get(env.id, flow.userId);
    if (!user || user.disabled) throw new CoreError('access_denied', 'this account can no longer approve devices');
    const now = this.#d.clock.now();
    const result = await this.#d.store.flows.decide(flow.id, accept, now, (f) => [this.#d.audit.event({
      envId: f.envId, type: accept ? 'device.approved' : 'device.denied', actor: ref.user(user.id),
      subject: f.deviceId === null ? ref.flow(f.id) : ref.device(f.deviceId), details: { flow: f.id, username: user.username },
    })]);
    if (result === 'flow_changed') throw new CoreError('flow_wrong_state', 'this request was already answered');
    if (result === 'device_unavailable') {
      const device = flow.deviceId === null ? undefined : await this.#d.store.deviceAuthorizations.get(env.id, flow.deviceId);
      if (!device || now >= device.expiresAt) throw new CoreError('user_code_expired', 'that code has expired', { target: 'userCode' });
      throw new CoreError('user_code_used', 'that code has already been used', { target: 'userCode' });
    }
    return this.view(await this.load(env, flow.id, browserSecret));
  }

  /** Runs a step and reports how it ended: `ok` (or `success`) or the error code. */
  async #observed<T>(step: 'sign_in' | 'user_code' | 'consent', fn: () => Promise<T>, success = 'ok'): Promise<T> {
    try {
      const result = await fn();
      this.#d.telemetry.verification(step, success);
      return result;
    } catch (err) {
      this.#d.telemetry.verification(step, outcomeOf(err));
      throw err;
    }
  }

  async #at(env: Environment, flowId: string, browserSecret: string | undefined, status: FlowStatus): Promise<Flow> {
    const flow = await this.load(env, flowId, browserSecret);
    if (flow.status !== status) throw new CoreError('flow_wrong_state', `the flow is ${flow.status}`);
    return flow;
  }

  async #advance(flow: Flow, from: FlowStatus, patch: FlowPatch, audit?: AuditOf<Flow>): Promise<FlowView> {
    const now = this.#d.clock.now();
    const next = await this.#d.store.flows.transition(flow.id, from, patch, now, now + FLOW_IDLE_MS, audit);
    if (!next) throw new CoreError('flow_wrong_state', 'the flow changed meanwhile');
    return this.view(next);
  }
}

