// Builds the real app on a fresh SQLite file in a temporary directory (or a PostgreSQL database of
// its own, see DCS_TEST_POSTGRES), with an injected clock.
// Everything is closed and deleted in t.after, so tests never share state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance, FastifyServerOptions, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/model/clock.ts';
import type { Client, User } from '../../src/model/records.ts';
import { DEVICE_CODE_GRANT } from '../../src/model/records.ts';
import { openServices, type Services } from '../../src/services.ts';
import { checkResponse, requestOf } from './contract.ts';

export { DEVICE_CODE_GRANT };

/**
 * A clock tests move by hand: expiry and slow_down without sleeping. `new TestClock('real')` follows
 * wall time (plus any advance), for tests where a real client sleeps between polls.
 */
export class TestClock implements Clock {
  t: number;
  readonly #real: boolean;
  constructor(start: number | 'real' = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.#real = start === 'real';
    this.t = start === 'real' ? 0 : start;
  }
  now(): number {
    return this.#real ? Date.now() + this.t : this.t;
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dcs-test-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * Tests hash passwords at scrypt N=2^14 (production: OWASP's 2^17, ~8x the work): the code path is
 * the same, and a suite that creates hundreds of users stays fast. test/crypto covers the default.
 */
export const TEST_COST = { PASSWORD_SCRYPT_N: '16384' } as const;

export function testConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({ DATA_DIR: dir, PUBLIC_URL: 'http://issuer.test', LOG_LEVEL: 'silent', SWEEP_INTERVAL_SECONDS: '0', ...TEST_COST, ...env });
}

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  clock: TestClock;
  dir: string;
  config: Config;
  /** POST an application/x-www-form-urlencoded body (string or record; arrays repeat a parameter). */
  form(url: string, body: Record<string, string | string[]> | string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  publicClient(opts?: { scope?: string; codeLifetime?: number; pollInterval?: number; envId?: string; refreshTokens?: boolean }): Promise<Client>;
  confidentialClient(opts?: { scope?: string; envId?: string }): Promise<{ client: Client; secret: string }>;
  user(username?: string, password?: string, envId?: string): Promise<User>;
  /** Listens on 127.0.0.1 on an ephemeral port; returns the base URL. Closed with the app in t.after. */
  listen(): Promise<string>;
}

export interface BuildOptions {
  env?: Record<string, string>;
  clock?: TestClock;
  /** Reuse a directory (restart tests; a second instance on one database). */
  dir?: string;
  /** Fastify's logger (default: none), to read what the server logs. */
  logger?: FastifyServerOptions['logger'];
}

export function encodeForm(body: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) for (const value of Array.isArray(v) ? v : [v]) params.append(k, value);
  return params.toString();
}

/**
 * DCS_TEST_POSTGRES, a PostgreSQL superuser's URL (test/store/http-postgres.test.ts sets it): build()
 * then puts every app on a database of its own on that server instead of a SQLite file. A test that
 * builds again on the same directory (a restart) finds the same database.
 */
const POSTGRES_ADMIN_URL = process.env.DCS_TEST_POSTGRES;
const databases = new Map<string, string>();

async function storeEnv(dir: string, env: Record<string, string> = {}): Promise<Record<string, string>> {
  if (POSTGRES_ADMIN_URL === undefined || POSTGRES_ADMIN_URL === '' || env.DATABASE_URL !== undefined) return env;
  let url = databases.get(dir);
  if (url === undefined) {
    const { createDatabase } = await import('../../scripts/postgres.ts');
    url = await createDatabase(POSTGRES_ADMIN_URL);
    databases.set(dir, url);
  }
  return { DATABASE_URL: url, ...env };
}

export async function build(t: TestContext, opts: BuildOptions = {}): Promise<TestApp> {
  const dir = opts.dir ?? tempDir(t);
  const clock = opts.clock ?? new TestClock();
  const config = testConfig(dir, await storeEnv(dir, opts.env));
  const services = await openServices(config, { clock });
  const app = await buildApp({ services, ...(opts.logger === undefined ? {} : { logger: opts.logger }) });
  let closed = false;
  t.after(async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await services.close();
  });
  let n = 0;
  // Every response a test sees must be one openapi.yaml documents (test/helpers/contract.ts).
  const inject = async (o: InjectOptions): Promise<LightMyRequestResponse> => {
    const res = await app.inject(o);
    await checkResponse(requestOf(o), res);
    return res;
  };
  return {
    app,
    services,
    clock,
    dir,
    config,
    inject,
    form: (url, body, headers = {}) =>
      inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: typeof body === 'string' ? body : encodeForm(body),
      }),
    publicClient: async (o = {}) =>
      (await services.admin.createClient({ envId: o.envId ?? services.defaultEnv.id, name: 'Test TV', ...o })).client,
    confidentialClient: async (o = {}) => {
      const r = await services.admin.createClient({ envId: o.envId ?? services.defaultEnv.id, name: 'Test backend', confidential: true, ...o });
      if (r.secret === undefined) throw new Error('no secret');
      return { client: r.client, secret: r.secret };
    },
    listen: () => app.listen({ host: '127.0.0.1', port: 0 }),
    user: (username = `user${++n}`, password = 'correct horse battery', envId = services.defaultEnv.id) =>
      services.admin.users.create({ envId, username, email: `${username}@example.test`, password }),
  };
}
