// Shared steps of the login-client tests: a server listening on the address its PUBLIC_URL names,
// virtual time for the client and the server together, and approval of the next code the server
// hands out (for subprocesses, whose output the test cannot read while they run).
import type { TestContext } from 'node:test';
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
