// Shared steps of the Veeam facade tests: sign in with the password grant, call getDeviceCode,
// and check RFC 7807 problem responses exactly.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { Environment } from '../../src/model/records.ts';
import type { TestApp } from '../helpers/build.ts';
import { assertNoStackTrace } from '../oauth/_support.ts';

export const PASSWORD = 'correct horse battery';

export interface DeviceCodeBody {
  userCode: string;
  deviceCode: string;
  verificationUrl: string;
  expiresOn: string;
  interval: number;
  message: string;
  clientId: string;
  resource: string;
}

/** `/api` for the default environment, `/{envId}/api` for another one. */
export function apiPrefix(env?: Environment): string {
  return env === undefined ? '/api' : `/${env.id}/api`;
}

/** A session token from the password grant (asserts the 200). */
export async function sessionToken(h: TestApp, username: string, opts: { env?: Environment; password?: string } = {}): Promise<string> {
  const res = await h.form(`${apiPrefix(opts.env)}/oauth2/token`, { grant_type: 'Password', Username: username, Password: opts.password ?? PASSWORD });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ access_token: string }>().access_token;
}

export function getDeviceCode(h: TestApp, authorization: string | undefined, opts: { env?: Environment; url?: string } = {}): Promise<LightMyRequestResponse> {
  return h.inject({
    method: 'GET',
    url: opts.url ?? `${apiPrefix(opts.env)}/v1/accounts/created/getDeviceCode`,
    headers: authorization === undefined ? {} : { authorization },
  });
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  error: string;
}

/** An RFC 7807 problem: exact status, media type, members, and the `error` member; no stack trace. */
export function assertProblem(res: LightMyRequestResponse, status: number, error: string): ProblemBody {
  assert.equal(res.statusCode, status, `expected ${status} ${error}, got ${res.statusCode}: ${res.body}`);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = res.json<ProblemBody>();
  assert.deepEqual(Object.keys(body).sort(), ['detail', 'error', 'status', 'title', 'type']);
  assert.equal(body.type, 'about:blank');
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.equal(body.error, error, res.body);
  assertNoStackTrace(res.body);
  return body;
}

/** 401 invalid_token with the Bearer challenge RFC 6750 §3 prescribes. */
export function assertInvalidToken(res: LightMyRequestResponse): void {
  assertProblem(res, 401, 'invalid_token');
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="[^"]+", error="invalid_token"(, error_description="[^"]*")?$/);
}
