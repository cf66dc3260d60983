// Shared steps of the RSA facade tests: create an admin key, sign admin JWTs from its key file
// exactly as an RSA client does (jose, RS256, the PKCS#1 accessKey), call the admin API, and check
// RSA's error body exactly.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import Database from 'better-sqlite3';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { SignJWT, type JWTPayload } from 'jose';
import type { AdminKeyFile } from '../../src/core/admin-keys.ts';
import type { AdminRole, Environment } from '../../src/model/records.ts';
import type { TestApp } from '../helpers/build.ts';
import { assertNoStackTrace } from '../oauth/_support.ts';

export const RSA_APP_ID = '1f00c62b-a5c0-49d3-9ffb-92314d717187';
export const CODE_PATH = '/AdminInterface/restapi/v1/users/deviceRegistrationCode';
export const LOOKUP_PATH = '/AdminInterface/restapi/v1/users/lookup';
export const REDEEM_PATH = '/api/v1/devices/registrations';

export async function adminKeyFile(h: TestApp, role: AdminRole = 'super_admin', env?: Environment): Promise<AdminKeyFile> {
  return (await h.services.adminKeys.create(env ?? h.services.defaultEnv, role, 'test key')).file;
}

export interface SignOptions {
  /** Claims to add or override (undefined removes one). */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Seconds from the test clock's now. */
  iatOffset?: number;
  lifetime?: number;
}

/** An admin JWT signed with the key file's accessKey, as RSA's documentation tells clients to. */
export async function adminJwt(h: TestApp, file: AdminKeyFile, o: SignOptions = {}): Promise<string> {
  const iat = Math.floor(h.clock.now() / 1000) + (o.iatOffset ?? 0);
  const all: Record<string, unknown> = { sub: file.accessID, aud: file.adminRestApiUrl, iat, exp: iat + (o.lifetime ?? 3600), ...o.claims };
  const claims = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as JWTPayload;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...o.header })
    .sign(createPrivateKey(file.accessKey));
}

export function rsaRequest(h: TestApp, method: InjectOptions['method'], url: string, jwt: string | undefined, body?: unknown): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (jwt !== undefined) headers.authorization = `Bearer ${jwt}`;
  if (body === undefined) return h.inject({ method, url, headers });
  headers['content-type'] = 'application/json';
  return h.inject({ method, url, headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });
}

export interface RsaErrorBody {
  timestamp: number;
  status: number;
  error: string;
  message: string;
  path: string;
}

const REASON: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** RSA's error body: exactly its five members, the reason phrase, the message, the path. */
export function assertRsaError(res: LightMyRequestResponse, status: number, message: string | RegExp, path?: string): RsaErrorBody {
  assert.equal(res.statusCode, status, `expected ${status}, got ${res.statusCode}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<RsaErrorBody>();
  assert.deepEqual(Object.keys(body), ['timestamp', 'status', 'error', 'message', 'path']);
  assert.equal(typeof body.timestamp, 'number');
  assert.ok(Number.isInteger(body.timestamp));
  assert.equal(body.status, status);
  assert.equal(body.error, REASON[status]);
  if (typeof message === 'string') assert.equal(body.message, message);
  else assert.match(body.message, message);
  if (path !== undefined) assert.equal(body.path, path);
  assertNoStackTrace(res.body);
  return body;
}

/**
 * A digest of every row of every table: equal digests mean the database did not change. Read
 * through a second connection on the real file, as any other process would see it.
 */
export function databaseDigest(h: TestApp): string {
  const db = new Database(h.config.databasePath, { readonly: true });
  try {
    // The audit trail records refusals too (a failed sign-in, an exhausted limit): it is the account
    // of what was tried, not the state a refused request must leave alone.
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
      AND name NOT IN ('audit_events', 'audit_outbox') ORDER BY name`).pluck().all() as string[];
    const hash = createHash('sha256');
    for (const t of tables) hash.update(`${t}\n${JSON.stringify(db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).raw().all())}\n`);
    return hash.digest('hex');
  } finally {
    db.close();
  }
}

/** Rows of a query, read through a second connection on the real file. */
export function sqlRows(h: TestApp, sql: string, ...params: unknown[]): Record<string, unknown>[] {
  const db = new Database(h.config.databasePath, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}
