// Shared steps of the OAuth surface tests: start an authorization, poll, decide through the engine,
// and check RFC 6749 §5.2 error responses exactly.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { Client, Environment, User } from '../../src/model/records.ts';
import { DEVICE_CODE_GRANT, type TestApp } from '../helpers/build.ts';

export interface DeviceAuthorizationBody {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export interface ErrorBody {
  error: string;
  error_description?: string;
}

/** `/oauth` for the default environment, `/{envId}/as` for another one. */
export function prefixFor(env?: Environment): string {
  return env === undefined ? '/oauth' : `/${env.id}/as`;
}

/** A successful device authorization request (asserts the 200). */
export async function startAuthorization(
  h: TestApp,
  client: Client,
  opts: { scope?: string; env?: Environment; secret?: string } = {},
): Promise<DeviceAuthorizationBody> {
  const body: Record<string, string> = { client_id: client.clientId };
  if (opts.scope !== undefined) body.scope = opts.scope;
  if (opts.secret !== undefined) body.client_secret = opts.secret;
  const res = await h.form(`${prefixFor(opts.env)}/device_authorization`, body);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<DeviceAuthorizationBody>();
}

/** One poll of the token endpoint with the device_code grant. */
export function poll(
  h: TestApp,
  deviceCode: string,
  clientId: string,
  opts: { env?: Environment; extra?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  return h.form(`${prefixFor(opts.env)}/token`, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId, ...opts.extra });
}

/** Approves or denies through the engine, as the verification page does. */
export async function decide(h: TestApp, userCode: string, user: User, approve: boolean, env?: Environment): Promise<void> {
  const device = await h.services.deviceFlow.findPendingByUserCode(env ?? h.services.defaultEnv, userCode);
  await h.services.deviceFlow.decide(device, user, approve);
}

/** Asserts an RFC 6749 §5.2 error: exact status, exact code, JSON, and nothing that looks like a stack trace. */
export function assertOAuthError(res: LightMyRequestResponse | { statusCode: number; body: string; headers: Record<string, unknown> }, status: number, error: string): ErrorBody {
  assert.equal(res.statusCode, status, `expected ${status} ${error}, got ${res.statusCode}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as ErrorBody;
  assert.equal(body.error, error, res.body);
  if (body.error_description !== undefined) assert.equal(typeof body.error_description, 'string');
  assert.deepEqual(Object.keys(body).filter((k) => k !== 'error' && k !== 'error_description'), []);
  assertNoStackTrace(res.body);
  return body;
}

export function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(text, /\bat .+\(.+:\d+:\d+\)|node:internal|\.ts:\d+|\.js:\d+|Error: /);
}

export function assertNoStore(res: { headers: Record<string, unknown> }): void {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
}

export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

const FLOW_MEDIA = {
  check: 'application/vnd.pingidentity.usernamePassword.check+json',
  verify: 'application/vnd.pingidentity.deviceAuthGrant.userCode.verify+json',
  consent: 'application/vnd.pingidentity.deviceAuthGrant.consent+json',
};

/**
 * A person approves through the flow API as a custom UI would: a flow bound to a cookie, then the
 * password sign-in, the code and consent. `between` runs after the sign-in (to move the clock).
 */
export async function approveAsPerson(
  h: TestApp, userCode: string, username: string, password: string, o: { env?: Environment; between?: () => void } = {},
): Promise<void> {
  const envId = (o.env ?? h.services.defaultEnv).id;
  const start = await h.inject({ method: 'GET', url: `/${envId}/device` });
  assert.equal(start.statusCode, 302, start.body);
  const flowId = new URL(String(start.headers.location)).searchParams.get('flowId') ?? '';
  const cookie = String(start.headers['set-cookie']).split(';')[0] ?? '';
  const step = async (type: string, body: object) => {
    const res = await h.inject({ method: 'POST', url: `/${envId}/flows/${flowId}`, headers: { 'content-type': type, cookie }, payload: JSON.stringify(body) });
    assert.equal(res.statusCode, 200, res.body);
  };
  await step(FLOW_MEDIA.check, { username, password });
  o.between?.();
  await step(FLOW_MEDIA.verify, { userCode });
  await step(FLOW_MEDIA.consent, { accept: true });
}
