// The request generators of each scenario. Every function returns a ConnectionRequests: called
// once per autocannon connection, so closures hold that connection's own state (its refresh-token
// chain, the cycle it is in); pools shared by all connections hand out one-shot items.
import { DEVICE_CODE_GRANT } from '../src/model/records.ts';
import { answerKey, type ConnectionRequests, type LoadControl, type Req } from './load.ts';
import { RSA_APP_ID, type PendingCode } from './seed.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const VERIFY_MEDIA = 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json';
const CONSENT_MEDIA = 'application/vnd.pingidentity.deviceAuthGrant.consent+json';

/** setupRequest's way to say "start this connection's sequence again" (autocannon counts a reset). */
const RESTART = null as unknown as Req;

const enc = encodeURIComponent;

/** A pool of one-shot items; when it runs dry the run stops and the last item is reused meanwhile. */
export class Pool<T> {
  readonly #items: T[];
  #next = 0;
  constructor(items: T[]) {
    this.#items = items;
  }
  get size(): number {
    return this.#items.length;
  }
  get used(): number {
    return Math.min(this.#next, this.#items.length);
  }
  take(ctl: LoadControl, what: string): T {
    const item = this.#items[this.#next] ?? this.#items[this.#items.length - 1];
    if (item === undefined) throw new Error(`empty pool of ${what}`);
    if (this.#next >= this.#items.length) ctl.exhausted(`ran out of ${this.#items.length} ${what}`);
    else this.#next++;
    return item;
  }
}

export function deviceAuthorization(clientId: string): ConnectionRequests {
  const body = `client_id=${enc(clientId)}`;
  return () => [{ method: 'POST', path: '/oauth/device_authorization', headers: FORM, body }];
}

/** The first poll of approved codes, each code once (a one-shot pool): every answer is a token. */
export function redeem(codes: Pool<PendingCode>, clientId: string): ConnectionRequests {
  const prefix = `grant_type=${enc(DEVICE_CODE_GRANT)}&client_id=${enc(clientId)}&device_code=`;
  return (ctl) => [{
    method: 'POST', path: '/oauth/token', headers: FORM,
    setupRequest: (req) => ({ ...req, body: prefix + codes.take(ctl, 'approved codes').deviceCode }),
  }];
}

/**
 * Token polls of pending codes, a code chosen at random from all of them for every request; with
 * `secret`, as a confidential client authenticating with client_secret_basic on every poll.
 */
export function poll(codes: PendingCode[], clientId: string, secret?: string): ConnectionRequests {
  const prefix = secret === undefined ? `grant_type=${enc(DEVICE_CODE_GRANT)}&client_id=${enc(clientId)}&device_code=` : `grant_type=${enc(DEVICE_CODE_GRANT)}&device_code=`;
  const headers = secret === undefined ? FORM
    : { ...FORM, authorization: `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}` };
  return () => [{
    method: 'POST', path: '/oauth/token', headers,
    setupRequest: (req) => {
      const code = codes[Math.floor(Math.random() * codes.length)];
      return { ...req, body: prefix + (code?.deviceCode ?? '') };
    },
  }];
}

function flowHeaders(media: string, cookie: string): Req['headers'] {
  return { 'content-type': media, cookie: `dcs_browser=${cookie}` };
}

/** The flow API's verify step, each request on its own signed-in flow with its own pending code. */
export function verify(envId: string, pool: Pool<{ flowId: string; userCode: string }>, cookie: string): ConnectionRequests {
  return (ctl) => [{
    method: 'POST', headers: flowHeaders(VERIFY_MEDIA, cookie),
    setupRequest: (req) => {
      const item = pool.take(ctl, 'signed-in flows');
      return { ...req, path: `/${envId}/flows/${item.flowId}`, body: JSON.stringify({ userCode: item.userCode }) };
    },
  }];
}

/**
 * The whole approval as one sequence per connection: device authorization → verify (a pre-signed-in
 * flow, the user code just received) → consent → the first poll, which redeems the approval.
 */
export function cycle(envId: string, clientId: string, flows: Pool<string>, cookie: string): ConnectionRequests {
  const tokenPrefix = `grant_type=${enc(DEVICE_CODE_GRANT)}&client_id=${enc(clientId)}&device_code=`;
  return (ctl) => {
    let deviceCode: string | undefined;
    let userCode: string | undefined;
    let flowId = '';
    let ok = true;
    const step = (name: string) => (status: number, body: string) => {
      ctl.count(`${name} ${answerKey(status, body)}`);
      if (status !== 200) ok = false;
    };
    return [
      {
        method: 'POST', path: '/oauth/device_authorization', headers: FORM, body: `client_id=${enc(clientId)}`,
        setupRequest: (req) => {
          ok = true;
          deviceCode = undefined;
          userCode = undefined;
          return req;
        },
        onResponse: (status, body) => {
          step('authorize')(status, body);
          if (status !== 200) return;
          const parsed = JSON.parse(body) as { device_code: string; user_code: string };
          deviceCode = parsed.device_code;
          userCode = parsed.user_code;
        },
      },
      {
        method: 'POST', headers: flowHeaders(VERIFY_MEDIA, cookie),
        setupRequest: (req) => {
          if (!ok || userCode === undefined) return RESTART;
          flowId = flows.take(ctl, 'signed-in flows');
          return { ...req, path: `/${envId}/flows/${flowId}`, body: JSON.stringify({ userCode }) };
        },
        onResponse: step('verify'),
      },
      {
        method: 'POST', headers: flowHeaders(CONSENT_MEDIA, cookie), body: '{"accept":true}',
        setupRequest: (req) => (ok ? { ...req, path: `/${envId}/flows/${flowId}` } : RESTART),
        onResponse: step('consent'),
      },
      {
        method: 'POST', path: '/oauth/token', headers: FORM,
        setupRequest: (req) => (ok && deviceCode !== undefined ? { ...req, body: tokenPrefix + deviceCode } : RESTART),
        onResponse: step('token'),
      },
    ];
  };
}

/** grant_type=refresh_token with rotation: each connection follows its own chain; a broken chain takes a fresh one. */
export function refresh(clientId: string, chains: Pool<string>): ConnectionRequests {
  const prefix = `grant_type=refresh_token&client_id=${enc(clientId)}&refresh_token=`;
  return (ctl) => {
    let token: string | undefined;
    return [{
      method: 'POST', path: '/oauth/token', headers: FORM,
      setupRequest: (req) => {
        token ??= chains.take(ctl, 'refresh-token chains');
        return { ...req, body: prefix + token };
      },
      onResponse: (status, body) => {
        ctl.count(answerKey(status, body));
        token = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
      },
    }];
  };
}

/** GET /oauth/userinfo with the Bearer access token of a grant chosen at random among many, for every request. */
export function userInfo(accessTokens: string[]): ConnectionRequests {
  return () => [{
    method: 'GET', path: '/oauth/userinfo',
    setupRequest: (req) => {
      const token = accessTokens[Math.floor(Math.random() * accessTokens.length)] ?? '';
      return { ...req, headers: { authorization: `Bearer ${token}` } };
    },
  }];
}

/**
 * RFC 7662 introspection of access tokens of many grants (one at random per request) by a resource
 * server: a confidential client authenticating with client_secret_basic on every request. A 200
 * is counted as active or inactive, since an inactive answer is a 200 too.
 */
export function introspection(accessTokens: string[], clientId: string, secret: string): ConnectionRequests {
  const headers = { ...FORM, authorization: `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}` };
  return (ctl) => [{
    method: 'POST', path: '/oauth/introspect', headers,
    setupRequest: (req) => {
      const token = accessTokens[Math.floor(Math.random() * accessTokens.length)] ?? '';
      return { ...req, body: `token=${enc(token)}&token_type_hint=access_token` };
    },
    onResponse: (status, body) => {
      ctl.count(status === 200 ? `200 ${(JSON.parse(body) as { active?: boolean }).active === true ? 'active' : 'inactive'}` : answerKey(status, body));
    },
  }];
}

/** Veeam's getDeviceCode, each connection with its own user's session token. */
export function veeam(sessions: string[]): ConnectionRequests {
  let n = 0;
  return () => {
    const token = sessions[n++ % sessions.length] ?? '';
    return [{ method: 'GET', path: '/api/v1/accounts/created/getDeviceCode', headers: { authorization: `Bearer ${token}` } }];
  };
}

/** RSA's deviceRegistrationCode for a user chosen at random among many (a new code replaces the user's old one). */
export function rsa(adminJwt: string, usernames: string[]): ConnectionRequests {
  const headers = { accept: 'application/json', 'content-type': 'application/json', authorization: `Bearer ${adminJwt}` };
  return () => [{
    method: 'POST', path: '/AdminInterface/restapi/v1/users/deviceRegistrationCode', headers,
    setupRequest: (req) => {
      const username = usernames[Math.floor(Math.random() * usernames.length)] ?? '';
      return { ...req, body: JSON.stringify({ username, appId: RSA_APP_ID }) };
    },
  }];
}

/** The ceilings' request: a form POST of a poll's size. */
export function ceiling(): ConnectionRequests {
  const body = `grant_type=${enc(DEVICE_CODE_GRANT)}&client_id=${enc('3f1c2a4e-0000-4000-8000-000000000000')}&device_code=dc_${'x'.repeat(43)}`;
  return () => [{ method: 'POST', path: '/', headers: FORM, body }];
}
