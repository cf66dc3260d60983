// Clients of a real `serve` process over HTTP, for the tests that put one under load: device
// authorizations, approvals through the flow API, registration codes and refreshes. Each returns
// only what the server answered in full; a transport error (the server was killed, say) throws.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AdminKeyFile } from '../../src/core/admin-keys.ts';
import { CHECK, CONSENT, cookieOf, flowIdOf, VERIFY } from './_support.ts';

export const PASSWORD = 'correct horse battery';
export const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

async function answer<T>(res: Response): Promise<Answer<T>> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: (type.includes('json') && text !== '' ? JSON.parse(text) : { text }) as T };
}

export function postForm<T = Record<string, unknown>>(base: string, path: string, form: Record<string, string>): Promise<Answer<T>> {
  return fetch(`${base}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
  }).then((r) => answer<T>(r));
}

export function postJson<T = Record<string, unknown>>(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    .then((r) => answer<T>(r));
}

export interface DeviceCode {
  device_code: string;
  user_code: string;
  interval: number;
  expires_in: number;
}

export function deviceAuthorization(base: string, clientId: string, scope = 'openid'): Promise<Answer<DeviceCode>> {
  return postForm<DeviceCode>(base, '/oauth/device_authorization', { client_id: clientId, scope });
}

export function pollToken(base: string, clientId: string, deviceCode: string): Promise<Answer<{ error?: string; access_token?: string; refresh_token?: string; id_token?: string }>> {
  return postForm(base, '/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId });
}

export function refresh(base: string, clientId: string, token: string): Promise<Answer<{ error?: string; refresh_token?: string; id_token?: string }>> {
  return postForm(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
}

/**
 * A person approving (or denying) a code through the PingOne flow API, as a custom UI does: start a
 * flow at /device (keeping its cookie), sign in, enter the code, consent. Returns the final answer:
 * 200 with status COMPLETED is an acknowledged approval; anything else stops the steps.
 */
export async function approveThroughFlow(base: string, envId: string, userCode: string, username: string, accept = true): Promise<Answer<{ status?: string }>> {
  const start = await fetch(`${base}/${envId}/device`, { redirect: 'manual' });
  await start.arrayBuffer();
  if (start.status !== 302) return { status: start.status, body: {} };
  const url = `${base}/${envId}/flows/${flowIdOf(start.headers.get('location') ?? undefined)}`;
  const cookie = cookieOf(start.headers.getSetCookie());
  const step = (type: string, body: object) =>
    fetch(url, { method: 'POST', headers: { 'content-type': type, cookie }, body: JSON.stringify(body) }).then((r) => answer<{ status?: string }>(r));
  for (const [type, body] of [[CHECK, { username, password: PASSWORD }], [VERIFY, { userCode }]] as const) {
    const res = await step(type, body);
    if (res.status !== 200) return res;
  }
  return step(CONSENT, { accept });
}

/** An admin JWT signed with the key file's accessKey, as RSA's documentation tells clients to. */
export function adminJwt(file: AdminKeyFile): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: file.accessID, aud: file.adminRestApiUrl, iat, exp: iat + 3600 })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .sign(createPrivateKey(file.accessKey));
}

export function registrationCode(base: string, jwt: string, username: string): Promise<Answer<{ deviceRegistrationCode?: string }>> {
  return postJson(base, '/AdminInterface/restapi/v1/users/deviceRegistrationCode', { username, appId: RSA_APP_ID }, { authorization: `Bearer ${jwt}` });
}

export function redeem(base: string, code: string): Promise<Answer<{ message?: string }>> {
  return postJson(base, '/api/v1/devices/registrations', { deviceRegistrationCode: code, appId: RSA_APP_ID, deviceName: 'phone', platform: 'iOS' });
}

/** Runs `step` back to back until `stop()` says so; a step that throws (no answer) ends the loop when stopping. */
export async function loop(stop: () => boolean, step: () => Promise<unknown>, onError: (err: unknown) => void): Promise<void> {
  while (!stop()) {
    try {
      await step();
    } catch (err) {
      onError(err);
      if (!stop()) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function assertStatus(a: Answer<unknown>, status: number, what: string): void {
  assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body).slice(0, 300)}`);
}
