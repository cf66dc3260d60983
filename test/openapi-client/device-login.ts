// A device login written the way an integrator would, against the client openapi-typescript generates
// from openapi.yaml (openapi-fetch, typed by the generated `paths`): start a device authorization,
// show the code, poll the token endpoint until the person approves (RFC 8628 §3.4-3.5).
// test/openapi-client.test.ts generates ./generated/openapi.ts, typechecks this file with
// ./tsconfig.json (so a change to the document that breaks such code fails the suite) and runs it
// against a listening server. Outside the root tsconfig and eslint: the generated file exists only then.
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/openapi.ts';

export type DeviceAuthorization = components['schemas']['DeviceAuthorizationResponse'];
export type Tokens = components['schemas']['TokenResponse'];
type OAuthErrorCode = components['schemas']['OAuthError']['error'];

// What the document promises code generators, checked when this file is typechecked.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Assert<T extends true> = T;
type TokenForm = paths['/oauth/token']['post']['requestBody']['content']['application/x-www-form-urlencoded'];
export type GrantTypeIsAnEnum = Assert<Equals<TokenForm['grant_type'], 'urn:ietf:params:oauth:grant-type:device_code' | 'refresh_token'>>;
export type PendingIsAnErrorCode = Assert<'authorization_pending' extends OAuthErrorCode ? true : false>;
export type FlowStatusIsAnEnum = Assert<Equals<components['schemas']['Flow']['status'],
  'USERNAME_PASSWORD_REQUIRED' | 'DAG_USER_CODE_REQUIRED' | 'DAG_CONSENT_REQUIRED' | 'COMPLETED' | 'FAILED'>>;

export interface DeviceLoginOptions {
  baseUrl: string;
  clientId: string;
  scope?: string;
  /** Shows the person the code and where to enter it. */
  show: (authorization: DeviceAuthorization) => void | Promise<void>;
  /** Waits `seconds` before the next poll. */
  wait: (seconds: number) => Promise<void>;
}

export class DeviceLoginError extends Error {
  readonly code: OAuthErrorCode;
  constructor(code: OAuthErrorCode, description: string | undefined) {
    super(description ?? code);
    this.code = code;
  }
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** The form body of an OAuth request (RFC 6749 §4.1.3): absent parameters are left out. */
function form(body: Record<string, string | undefined>): string {
  return new URLSearchParams(Object.entries(body).filter((e): e is [string, string] => e[1] !== undefined)).toString();
}

export async function deviceLogin(o: DeviceLoginOptions): Promise<{ tokens: Tokens; polls: number }> {
  const client = createClient<paths>({ baseUrl: o.baseUrl });
  const started = await client.POST('/oauth/device_authorization', {
    body: { client_id: o.clientId, scope: o.scope },
    bodySerializer: form,
    headers: FORM,
  });
  if (started.error !== undefined) throw new DeviceLoginError(started.error.error, started.error.error_description);
  const authorization = started.data;
  await o.show(authorization);
  let interval = authorization.interval;
  for (let polls = 1; ; polls++) {
    await o.wait(interval);
    const { data, error } = await client.POST('/oauth/token', {
      body: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: authorization.device_code, client_id: o.clientId },
      bodySerializer: form,
      headers: FORM,
    });
    if (error === undefined) return { tokens: data, polls };
    switch (error.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        interval += 5;
        continue;
      default:
        throw new DeviceLoginError(error.error, error.error_description);
    }
  }
}

/** The person's claims, with the access token the login got (UserInfo, OpenID Connect Core §5.3). */
export async function userInfo(baseUrl: string, accessToken: string): Promise<components['schemas']['UserInfo']> {
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.GET('/oauth/userinfo', { headers: { authorization: `Bearer ${accessToken}` } });
  if (error !== undefined) throw new DeviceLoginError(error.error, error.error_description);
  return data;
}
