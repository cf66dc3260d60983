// The RFC 8628 state machine: start a device authorization, poll it, and decide it.
//   pending ──approve──▶ approved ──poll (consume)──▶ consumed
//      └─────deny─────▶ denied
// Expiry is computed from expires_at on every path, never stored as a status. A consumed code
// presented again ends the grant its redemption opened (RFC 6749 §4.1.2, as for authorization codes).
import { formatUserCode, generateDeviceCode, generateUserCode, normalizeUserCode, timeOrderedUuid, type UserCodeFormat } from '../crypto/codes.ts';
import type { SecretKeys } from '../crypto/secret.ts';
import type { Clock } from '../model/clock.ts';
import {
  DEVICE_CODE_GRANT, type Authentication, type Client, type DeviceAuthorization, type Environment, type RequestContext, type User,
} from '../model/records.ts';
import { intervalAfterPoll, slowDownDue, type Store } from '../store/store.ts';
import { issueGrantTokens } from './access-tokens.ts';
import { ref, type AuditTrail } from './audit.ts';
import { assertDeviceNetwork, deviceScopeAllowed, resolveDeviceScope } from './device-policy.ts';
import { CoreError } from './errors.ts';
import { wantsRefreshToken, type Grants } from './grants.ts';
import { hasOpenId } from './identity.ts';
import type { KeyRing } from './key-ring.ts';
import { networkKey } from './networks.ts';
import { outcomeOf, type Telemetry } from './telemetry.ts';

/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for good. */
export const SLOW_DOWN_STEP_SECONDS = 5;
/** Collisions among 20^8 codes are rare; a few retries make a failure practically impossible. */
const USER_CODE_ATTEMPTS = 5;
/** Concurrent polls of one code race on a compare-and-set; this bounds the retries. */
const POLL_CAS_ATTEMPTS = 5;

export interface DeviceFlowDeps {
  store: Store;
  clock: Clock;
  secrets: SecretKeys;
  keys: KeyRing;
  userCode: UserCodeFormat;
  telemetry: Telemetry;
  grants: Grants;
  audit: AuditTrail;
}

export interface StartedAuthorization {
  deviceCode: string;
  /** Display form, e.g. `WDJB-MJHT`. */
  userCode: string;
  expiresIn: number;
  expiresAt: number;
  interval: number;
  scope: string;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
  /** When the client may have one (see wantsRefreshToken). */
  refreshToken?: string;
  /** When the approved scope holds `openid` (OpenID Connect Core §3.1.3.3). */
  idToken?: string;
}

export class DeviceFlow {
  readonly #d: DeviceFlowDeps;

  constructor(deps: DeviceFlowDeps) {
    this.#d = deps;
  }

  /**
   * RFC 8628 §3.1-3.2. The client is already authenticated. `context` is where the request came
   * from (RFC 8628 §5.4): the consent screen shows it to the person asked to approve, and its
   * `address` (the client address under TRUST_PROXY) is judged against the client's device
   * networks and kept as a network key for same-network approval (README "Device policy").
   */
  async start(env: Environment, client: Client, requestedScope: string | undefined, context: RequestContext | null = null): Promise<StartedAuthorization> {
    assertDeviceGrant(client);
    const address = context?.address ?? null;
    const policyEnv = await this.#withCurrentDefaults(env);
    assertDeviceNetwork(policyEnv, client, address);
    const scope = resolveDeviceScope(policyEnv, client, requestedScope);
    const deviceCode = generateDeviceCode();
    const now = this.#d.clock.now();
    for (let attempt = 0; attempt < USER_CODE_ATTEMPTS; attempt++) {
      const userCode = generateUserCode(this.#d.userCode);
      const record: DeviceAuthorization = {
        id: timeOrderedUuid(now),
        envId: env.id,
        clientId: client.clientId,
        deviceCodeHash: this.#d.secrets.hashCode('device', deviceCode),
        userCodeHash: this.#d.secrets.hashCode('user', userCode),
        scope,
        status: 'pending',
        expiresAt: now + client.codeLifetime * 1000,
        interval: client.pollInterval,
        lastPolledAt: null,
        userId: null,
        createdAt: now,
        decidedAt: null,
        authentication: null,
        sourceNetwork: address === null ? null : networkKey(address),
        grantId: null,
        requestContext: context,
        approverContext: null,
        locationMismatch: false,
        reportedAt: null,
      };
      const requested = (d: DeviceAuthorization) => [this.#d.audit.event({
        envId: d.envId, type: 'device.requested', actor: ref.client(d.clientId), subject: ref.device(d.id), source: d.requestContext,
        details: { client_id: d.clientId, scope: d.scope },
      })];
      if ((await this.#d.store.deviceAuthorizations.insert(record, requested)) === 'ok') {
        this.#d.telemetry.deviceAuthorization();
        return {
          deviceCode,
          userCode: formatUserCode(userCode),
          expiresIn: client.codeLifetime,
          expiresAt: record.expiresAt,
          interval: client.pollInterval,
          scope,
        };
      }
    }
    throw new Error('could not allocate a unique user code');
  }

  /** RFC 8628 §3.4-3.5: one poll of the token endpoint. The client is already authenticated. */
  async poll(env: Environment, client: Client, deviceCode: string, issuer: string): Promise<IssuedToken> {
    try {
      const token = await this.#poll(env, client, deviceCode, issuer);
      this.#d.telemetry.poll('token');
      return token;
    } catch (err) {
      this.#d.telemetry.poll(outcomeOf(err));
      throw err;
    }
  }

  async #poll(env: Environment, client: Client, deviceCode: string, issuer: string): Promise<IssuedToken> {
    assertDeviceGrant(client);
    const hash = this.#d.secrets.hashCode('device', deviceCode);
    for (let attempt = 0; attempt < POLL_CAS_ATTEMPTS; attempt++) {
      const now = this.#d.clock.now();
      // The read and, for a pending code, this poll's record in one step (one round trip on PostgreSQL).
      const read = await this.#d.store.deviceAuthorizations.poll(hash, { envId: env.id, clientId: client.clientId, now, slowDownStep: SLOW_DOWN_STEP_SECONDS });
      if (!read || read.device.envId !== env.id || read.device.clientId !== client.clientId) {
        throw new CoreError('invalid_grant', 'unknown device_code');
      }
      const { device } = read;
      // A redeemed code presented again, before or after its expiry: whoever holds the tokens now, the grant ends.
      const replayed = device.status === 'consumed' ? await this.#replayed(device, now) : undefined;
      if (now >= device.expiresAt) throw new CoreError('expired_token', 'the device_code has expired');
      switch (device.status) {
        case 'consumed':
          throw replayed ?? new CoreError('invalid_grant', 'the device_code has already been used');
        case 'denied':
          throw new CoreError('access_denied', 'the authorization request was denied');
        case 'approved':
          return this.#redeem(device, env, client, issuer, now);
        case 'pending': {
          // Our choice (docs/protocol.md): a poll sooner than the interval after the previous one
          // slows the device down (the store recorded it so: intervalAfterPoll).
          if (read.recorded) {
            if (slowDownDue(device, now)) throw new CoreError('slow_down', `poll at most every ${intervalAfterPoll(device, now, SLOW_DOWN_STEP_SECONDS)} seconds`);
            throw new CoreError('authorization_pending', 'the user has not yet approved the request');
          }
          // Another poll of this code landed in between: read again and judge this one against it.
        }
      }
    }
    throw new CoreError('slow_down', 'too many concurrent polls for this device_code');
  }

  /**
   * The code is spent and the approval's grant stored in one transaction, then the token is signed:
   * the conditional UPDATE lets exactly one poll through, and a failed write spends nothing.
   */
  async #redeem(device: DeviceAuthorization, env: Environment, client: Client, issuer: string, now: number): Promise<IssuedToken> {
    // Re-check at redemption: approval does not outlive the user or the client's scopes. A code that
    // fails the check is spent all the same, so every later poll is refused too.
    const user = device.userId === null ? undefined : await this.#d.store.users.get(env.id, device.userId);
    const stillAllowed = user !== undefined && !user.disabled && deviceScopeAllowed(await this.#withCurrentDefaults(env), client, device.scope);
    if (!stillAllowed) {
      if (!(await this.#d.store.deviceAuthorizations.consume(device.id, now))) throw await this.#lostRace(device, now);
      throw new CoreError('access_denied', user === undefined || user.disabled ? 'the approving user is no longer active' : 'the client may no longer request this scope');
    }
    // Every approval is a grant (the person can see and end it); a refresh token comes with it when asked for.
    const opened = this.#d.grants.prepare(client, user, device.scope, 'device', wantsRefreshToken(client, device.scope), device.authentication, device.requestContext);
    const withOpenId = hasOpenId(device.scope);
    const consumed = await this.#d.store.deviceAuthorizations.redeem(device.id, now, opened.grant, opened.refreshTokenHash, (d) => [this.#d.audit.event({
      envId: d.envId, type: 'token.issued', actor: ref.client(d.clientId), subject: ref.grant(opened.grant.id),
      details: { user_id: user.id, device: d.id, scope: d.scope, id_token: withOpenId, refresh_token: opened.refreshToken !== undefined },
    })]);
    if (!consumed) throw await this.#lostRace(device, now);
    const tokens = await issueGrantTokens(this.#d, { env, client, user, grant: opened.grant, scope: consumed.scope, issuer, now });
    return { ...tokens, scope: consumed.scope, ...(opened.refreshToken === undefined ? {} : { refreshToken: opened.refreshToken }) };
  }

  /**
   * The environment with its device policy defaults as stored now: the default environment's
   * record is read once at start, and `env update` (another process) must apply at once.
   */
  async #withCurrentDefaults(env: Environment): Promise<Environment> {
    return (await this.#d.store.environments.get(env.id)) ?? env;
  }

  /**
   * A consumed code presented again was copied (RFC 6749 §4.1.2, which node-oidc-provider applies
   * to device codes too): the grant its redemption opened is revoked, its refresh and access tokens
   * with it, so a stolen code that raced the real device ends both sessions. The answer stays the
   * invalid_grant of any used code (a client that lost the answer to its poll hears what it always
   * did; the token it lost is dead anyway). A code spent without a grant (access_denied at
   * redemption) has nothing to end.
   */
  async #replayed(device: DeviceAuthorization, now: number): Promise<CoreError> {
    const used = new CoreError('invalid_grant', 'the device_code has already been used');
    if (device.grantId === null) return used;
    const grant = await this.#d.store.grants.get(device.envId, device.grantId);
    // Counted when it ends a grant still standing, not at every later presentation.
    const ended = grant?.revokedAt === null && await this.#d.store.grants.revoke(device.envId, grant.id, now, (g) => [this.#d.audit.event({
      envId: g.envId, type: 'grant.revoked', actor: ref.client(device.clientId), subject: ref.grant(g.id), outcome: 'failure',
      details: { user_id: g.userId, client_id: g.clientId, via: 'device_code_replay', device: device.id },
    })]);
    if (ended) this.#d.telemetry.deviceCodeReuse();
    return used;
  }

  /** Another poll spent the code between our read and our write: this poll is a second presentation. */
  async #lostRace(device: DeviceAuthorization, now: number): Promise<CoreError> {
    const after = await this.#d.store.deviceAuthorizations.get(device.envId, device.id);
    if (after?.status === 'consumed') return this.#replayed(after, now);
    return new CoreError('invalid_grant', 'the device_code has already been used');
  }

  /**
   * Finds the pending authorization a person's typed code refers to, or says precisely why not
   * (wrong, expired, already used). Callers count wrong attempts; this only looks.
   */
  async findPendingByUserCode(env: Environment, input: string): Promise<DeviceAuthorization> {
    const canonical = normalizeUserCode(input, this.#d.userCode);
    if (canonical === undefined) throw new CoreError('invalid_user_code', 'that is not a valid code', { target: 'userCode' });
    const device = await this.#d.store.deviceAuthorizations.getByUserCodeHash(env.id, this.#d.secrets.hashCode('user', canonical));
    if (!device) throw new CoreError('invalid_user_code', 'that code is not valid', { target: 'userCode' });
    if (this.#d.clock.now() >= device.expiresAt) throw new CoreError('user_code_expired', 'that code has expired', { target: 'userCode' });
    if (device.status !== 'pending') throw new CoreError('user_code_used', 'that code has already been used', { target: 'userCode' });
    return device;
  }

  /**
   * Approves or denies a pending authorization on behalf of an enabled user, who signed in as
   * `authentication` says (the CLI's approval on a user's behalf: at the moment of approval, by no
   * method of theirs).
   */
  async decide(device: DeviceAuthorization, user: User, approve: boolean, authentication?: Authentication): Promise<DeviceAuthorization> {
    if (user.disabled || user.envId !== device.envId) throw new CoreError('access_denied', 'this user cannot approve devices');
    const now = this.#d.clock.now();
    const signedIn = authentication ?? { time: now, amr: [], acr: null };
    const decided = await this.#d.store.deviceAuthorizations.decide(device.id, approve ? 'approved' : 'denied', user.id, signedIn, now, undefined, (d) => [
      this.#d.audit.event({
        envId: d.envId, type: approve ? 'device.approved' : 'device.denied', actor: ref.cli, subject: ref.device(d.id),
        details: { user_id: user.id, client_id: d.clientId, scope: d.scope, via: 'cli' },
      }),
    ]);
    if (decided) return decided;
    if (now >= device.expiresAt) throw new CoreError('user_code_expired', 'that code has expired', { target: 'userCode' });
    throw new CoreError('user_code_used', 'that code has already been used', { target: 'userCode' });
  }
}

function assertDeviceGrant(client: Client): void {
  if (!client.grantTypes.includes(DEVICE_CODE_GRANT)) {
    throw new CoreError('unauthorized_client', 'this client may not use the device authorization grant');
  }
}
