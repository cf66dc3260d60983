// Shared steps of the login-client tests: a server listening on the address its PUBLIC_URL names,
// virtual time for the client and the server together, and approval of the next code the server
// hands out (for subprocesses, whose output the test cannot read while they run).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Clock, Sleep } from '../../src/client/transport.ts';
import type { NewClient } from '../../src/core/admin.ts';
import type { Client, Environment, User } from '../../src/model/records.ts';
import { build, TestClock, type TestApp } from '../helpers/build.ts';
import { decide } from '../oauth/_support.ts';
import { freePort } from '../../scripts/net.ts';

export { freePort };

export interface Listening {
  h: TestApp;
  /** http://127.0.0.1:<port>, the issuer of the default environment. */
  base: string;
}

/** The real app on a real port, its clock following wall time; `setup` runs before it listens (hooks). */
export async function listeningServer(t: TestContext, setup?: (h: TestApp) => void): Promise<Listening> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const h = await build(t, { env: { PUBLIC_URL: base, PORT: String(port) }, clock: new TestClock('real') });
  setup?.(h);
  await h.app.listen({ host: '127.0.0.1', port });
  return { h, base };
}

/** A client that may use refresh tokens (offline_access joins its scopes), polling every second. */
export async function refreshClient(h: TestApp, o: Partial<NewClient> = {}): Promise<{ client: Client; secret?: string }> {
  return h.services.admin.createClient({ envId: h.services.defaultEnv.id, name: 'CLI', scope: 'openid profile', refreshTokens: true, pollInterval: 1, ...o });
}

/**
 * Time that moves only when the client sleeps: `sleep` advances the server's clock (and the client's,
 * which is the same clock) instead of waiting, so minutes of polling take milliseconds. Every
 * requested sleep is recorded; `skipNext()` makes the next one return at once, without time passing.
 */
export function virtualTime(h: TestApp): { clock: Clock; sleep: Sleep; sleeps: number[]; skipNext(): void } {
  const sleeps: number[] = [];
  let skip = false;
  return {
    clock: h.clock,
    sleeps,
    skipNext: () => { skip = true; },
    sleep: (ms) => {
      sleeps.push(ms);
      if (skip) skip = false;
      else h.clock.advance(ms / 1000);
      return Promise.resolve();
    },
  };
}

/**
 * Decides every code the server hands out, once its device has polled at least once (so the client
 * sees authorization_pending first). Install before listening (`listeningServer`'s setup), for
 * clients in subprocesses whose output the test cannot read while they run.
 */
export function decideCodes(h: TestApp, approve: boolean, env?: Environment): { user: Promise<User>; codes: string[] } {
  const codes: string[] = [];
  const pending = new Set<string>();
  const user = h.user('approver', 'correct horse battery', env?.id);
  h.app.addHook('onSend', async (request, _reply, payload) => {
    const url = request.url.split('?')[0] ?? '';
    if (typeof payload !== 'string') return payload;
    if (url.endsWith('/device_authorization') && request.method === 'POST') {
      const body = JSON.parse(payload) as { user_code?: string };
      if (body.user_code !== undefined) {
        codes.push(body.user_code);
        pending.add(body.user_code);
      }
    } else if (url.endsWith('/token') && payload.includes('"authorization_pending"')) {
      // Answers whose writes were group-committed together (SqliteDb.grouped) run this hook
      // interleaved: each code is claimed (deleted) before the first await, and a code another
      // answer's hook claimed meanwhile is skipped. Deciding it twice threw user_code_used here,
      // which Fastify sent in place of authorization_pending: a login that failed with "that code
      // has already been used" when two polls landed in one event-loop turn on a busy machine.
      for (const code of [...pending]) {
        if (!pending.delete(code)) continue;
        await decide(h, code, await user, approve, env);
      }
    }
    return payload;
  });
  return { user, codes };
}

/**
 * A token answer lost on the way: the first 200 from the token endpoint (the code already redeemed,
 * the token issued) is not sent; its connection is destroyed instead, as a network failure would.
 * Install before listening. `statuses` lists the status of every token answer the server made.
 */
export function loseFirstToken(h: TestApp): { statuses: number[] } {
  const statuses: number[] = [];
  h.app.addHook('onSend', async (request, reply, payload) => {
    if (!(request.url.split('?')[0] ?? '').endsWith('/token')) return payload;
    statuses.push(reply.statusCode);
    if (reply.statusCode === 200 && statuses.filter((s) => s === 200).length === 1) request.raw.socket.destroy();
    return payload;
  });
  return { statuses };
}

// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/;
export const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** How fakeIssuer signs an ID token; by default with its published key, as ES256 with typ JWT. */
export interface SignOptions {
  /** A Uint8Array is an HMAC secret. */
  key?: CryptoKey | Uint8Array;
  kid?: string;
  alg?: string;
  /** null: no typ header at all. */
  typ?: string | null;
}

export interface FakeIssuer {
  /** http://127.0.0.1:<port>, its issuer. */
  base: string;
  clientId: string;
  /** The claims of a valid ID token for `clientId`, issued now (wall time), living an hour. */
  claims(): JWTPayload;
  sign(claims: JWTPayload, o?: SignOptions): Promise<string>;
  /** The id_token of the next token answers (device code or refresh); none when undefined. */
  idToken: string | undefined;
  /** The status /jwks answers with (200 by default). */
  jwksStatus: number;
  /** Leave jwks_uri out of the metadata. */
  noJwksUri: boolean;
  /** Every request, as "METHOD /path". */
  requests: string[];
}

/**
 * A small OpenID provider on 127.0.0.1 whose every answer the test writes: RFC 8414 metadata, a
 * JWKS of one ES256 key (kid "k1"), a device authorization that is approved at once (interval 1,
 * the first poll gets the token), and token answers carrying `idToken`. It lets a test hand the
 * client ID tokens that are wrong in one way each, signed with jose, which the real server never
 * issues.
 */
export async function fakeIssuer(t: TestContext): Promise<FakeIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', fake.base);
    fake.requests.push(`${req.method ?? ''} ${url.pathname}`);
    req.resume();
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    req.on('end', () => {
      if (req.method === 'GET' && url.pathname === '/.well-known/oauth-authorization-server') {
        send(200, {
          issuer: fake.base,
          device_authorization_endpoint: `${fake.base}/device_authorization`,
          token_endpoint: `${fake.base}/token`,
          ...(fake.noJwksUri ? {} : { jwks_uri: `${fake.base}/jwks` }),
          grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          token_endpoint_auth_methods_supported: ['none'],
        });
      } else if (req.method === 'GET' && url.pathname === '/jwks') {
        send(fake.jwksStatus, fake.jwksStatus === 200 ? { keys: [jwk] } : { error: 'not_found' });
      } else if (req.method === 'POST' && url.pathname === '/device_authorization') {
        send(200, { device_code: 'dc-fake', user_code: 'BCDF-GHJK', verification_uri: `${fake.base}/device`, expires_in: 600, interval: 1 });
      } else if (req.method === 'POST' && url.pathname === '/token') {
        send(200, {
          access_token: 'at-fake', token_type: 'Bearer', expires_in: 3600, scope: 'openid profile offline_access', refresh_token: 'rt_fake',
          ...(fake.idToken === undefined ? {} : { id_token: fake.idToken }),
        });
      } else {
        send(404, { error: 'invalid_request' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => { resolve(); });
  }));
  const fake: FakeIssuer = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clientId: 'cli',
    claims: () => {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: fake.base, sub: 'user-1', aud: fake.clientId, azp: fake.clientId, iat: now, exp: now + 3600, auth_time: now,
        preferred_username: 'robin', name: 'Robin Hood', email: 'robin@example.test', email_verified: true,
      };
    },
    sign: (claims, o = {}) => {
      const typ = o.typ === undefined ? 'JWT' : o.typ;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: o.alg ?? 'ES256', kid: o.kid ?? 'k1', ...(typ === null ? {} : { typ }) })
        .sign(o.key ?? privateKey);
    },
    idToken: undefined,
    jwksStatus: 200,
    noJwksUri: false,
    requests: [],
  };
  return fake;
}
