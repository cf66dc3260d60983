// A real upstream OpenID Provider for the federation tests: node-oidc-provider (a certified OP) on
// plain http on 127.0.0.1, an ephemeral port, in memory. Its users, our client at it, and a few
// misbehaviours for failure tests are the test's to choose. Its interaction (login and consent) is
// the bare minimum node-oidc-provider v9 leaves to the application: a login form, consent granted
// without asking, and a cancel button that ends the authorization with access_denied.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, {
  type Account, type Adapter, type AdapterFactory, type AdapterPayload, type ClientMetadata, type Configuration, type InteractionResults,
} from 'oidc-provider';

export interface UpstreamUser {
  sub: string;
  username: string;
  password: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  givenName?: string;
  familyName?: string;
  /** The ID token's `amr` (OpenID Connect Core §2), as given. */
  amr?: string[];
  /** The ID token's `acr` (OpenID Connect Core §2), as given. */
  acr?: string;
}

export interface UpstreamOptions {
  users: UpstreamUser[];
  /** Our client at the upstream: its id, secret (or none: public, PKCE), and the redirect URIs it may use. */
  client: { clientId: string; clientSecret?: string; redirectUris: string[] };
  /**
   * Misbehaviours for failure tests. wrongNonce: ID tokens carry a nonce other than the one asked for
   * (validly signed all the same). tokenEndpoint: answer the token endpoint with 500, or accept the
   * connection and never answer. deny: a login with the right password still ends in access_denied.
   */
  misbehave?: { wrongNonce?: boolean; tokenEndpoint?: 'error' | 'hang'; deny?: boolean };
  /** true: the profile and email claims go to UserInfo only, as Core §5.4 allows (node-oidc-provider's default). */
  claimsInUserInfoOnly?: boolean;
}

export interface Upstream {
  /** http://127.0.0.1:<port>, listening on 127.0.0.1 only. */
  issuer: string;
  /**
   * Drives the upstream's own login and consent pages over HTTP (no browser, a cookie jar of its own):
   * given the authorization URL our server redirected to, returns the redirect back to the client
   * (its redirect URI with code, state and iss, or with error=access_denied: cancel, deny). An
   * authorization request the upstream refuses outright (no PKCE, say) comes back the same way.
   * A wrong password throws.
   */
  loginOverHttp(authorizationUrl: string, username: string, password: string, o?: { cancel?: boolean }): Promise<string>;
  /** Stops it for good (startUpstream also does, in t.after). */
  close(): Promise<void>;
  /** "The upstream is down": connections refused until start(), which listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

// The provider's routes, named here so the misbehaviours below match the paths it really serves.
const AUTHORIZATION = '/auth';
const TOKEN = '/token';
const INTERACTION = '/interaction/';

export async function startUpstream(t: TestContext, o: UpstreamOptions): Promise<Upstream> {
  const misbehave = o.misbehave ?? {};
  // Listen first: the issuer names the port, and nobody can reach the server before it is returned.
  let server = await listen(0, (req, res) => { dispatch(req, res); });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  // RS256: the algorithm OpenID Connect Core §15.1 makes mandatory to implement, and the provider's default.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  const client: ClientMetadata = {
    client_id: o.client.clientId,
    redirect_uris: o.client.redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...(o.client.clientSecret === undefined
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: o.client.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
  };

  const configuration: Configuration = {
    clients: [client],
    jwks: { keys: [jwk] },
    responseTypes: ['code'],
    scopes: ['openid', 'email', 'profile'],
    // OpenID Connect Core §5.4 (scope claims). acr, amr and auth_time (Core §2) go with `openid`: the
    // provider puts a claim in the ID token only if a requested scope names it (or the request's
    // `claims` parameter does), and a federation test wants them on every ID token.
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    // Core §5.4 lets a code-flow OP keep scope claims to the UserInfo endpoint (the provider's default);
    // many real OPs put them in the ID token too, and so does this one unless told otherwise.
    conformIdTokenClaims: o.claimsInUserInfoOnly === true,
    acrValues: [...new Set(o.users.flatMap((u) => (u.acr === undefined ? [] : [u.acr])))],
    // RFC 9700 §2.1.1: PKCE for every client, confidential ones too (the provider supports S256 only).
    pkce: { required: () => true },
    routes: { authorization: AUTHORIZATION, token: TOKEN },
    interactions: { url: (_ctx, interaction) => `${INTERACTION}${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    // Plain http works as is: the provider marks its cookies Secure only for a request that came over
    // TLS, and `proxy` stays off (nothing in front sets X-Forwarded-Proto). Keys sign the cookies.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Lifetimes set here only because the provider asks for them (it prints a notice otherwise).
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
    // Its own store: the provider's default is one module-wide LRU that every upstream of a test process would share.
    adapter: memoryAdapter(),
    findAccount: (_ctx, sub) => {
      const user = o.users.find((u) => u.sub === sub);
      return user === undefined ? undefined : account(user);
    },
    // The default error page loads a web font; a test page must not reach the internet.
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`;
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  function dispatch(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname.startsWith(INTERACTION)) {
      interaction(req, res, url).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`interaction failed: ${String(err)}`);
      });
      return;
    }
    if (url.pathname === TOKEN && misbehave.tokenEndpoint !== undefined) {
      req.resume();
      if (misbehave.tokenEndpoint === 'error') res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
      // 'hang': the request is read and never answered; stop() and close() cut the connection.
      return;
    }
    if (url.pathname === AUTHORIZATION && misbehave.wrongNonce === true) {
      // The provider puts the request's nonce in the ID token (Core §3.1.2.1); handing it another one
      // here gives an ID token, validly signed, whose nonce the client never sent.
      url.searchParams.set('nonce', `not-${url.searchParams.get('nonce') ?? 'asked-for'}`);
      req.url = `${url.pathname}${url.search}`;
    }
    void callback(req, res);
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const action = url.pathname.slice(INTERACTION.length + details.uid.length);
    const finish = (result: InteractionResults) => provider.interactionFinished(req, res, result);

    if (req.method === 'POST' && action === '/abort') {
      await finish({ error: 'access_denied', error_description: 'End-User aborted interaction' });
      return;
    }
    if (req.method === 'POST' && action === '/login') {
      const form = new URLSearchParams(await readBody(req));
      const user = o.users.find((u) => u.username === form.get('username') && u.password === form.get('password'));
      if (user === undefined) {
        page(res, 200, loginForm(details.uid, 'Wrong username or password.'));
        return;
      }
      if (misbehave.deny === true) {
        await finish({ error: 'access_denied', error_description: 'This account may not sign in to this application' });
        return;
      }
      await finish({ login: { accountId: user.sub, ...(user.acr === undefined ? {} : { acr: user.acr }), ...(user.amr === undefined ? {} : { amr: user.amr }) } });
      return;
    }
    if (req.method === 'GET' && action === '' && details.prompt.name === 'login') {
      page(res, 200, loginForm(details.uid, ''));
      return;
    }
    if (req.method === 'GET' && action === '' && details.prompt.name === 'consent') {
      // Consent without asking (Core §3.1.2.4 leaves how to the OP): grant what the client asked for.
      const accountId = details.session?.accountId;
      if (accountId === undefined) throw new Error('consent without a signed-in account');
      const grant = details.grantId === undefined
        ? new provider.Grant({ accountId, clientId: String(details.params.client_id) })
        : await provider.Grant.find(details.grantId);
      if (grant === undefined) throw new Error('the grant being extended is gone');
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope);
      if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    page(res, 404, '<!doctype html><title>Not found</title><h1>Not found</h1>');
  }

  let running = true;
  let closed = false;
  async function stop(): Promise<void> {
    if (!running) return;
    running = false;
    const s = server;
    await new Promise<void>((resolve) => {
      s.close(() => { resolve(); });
      s.closeAllConnections(); // keep-alive sockets and a hanging token request alike
    });
  }
  async function start(): Promise<void> {
    if (closed) throw new Error('the upstream is closed');
    if (running) return;
    server = await listen(port, (req, res) => { dispatch(req, res); });
    running = true;
  }
  async function close(): Promise<void> {
    closed = true;
    await stop();
  }
  t.after(close);

  async function loginOverHttp(authorizationUrl: string, username: string, password: string, opts: { cancel?: boolean } = {}): Promise<string> {
    const jar = new Map<string, string>();
    const request = async (url: string, init: RequestInit = {}): Promise<Response> => {
      const headers = new Headers(init.headers);
      if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
      const res = await fetch(url, { ...init, headers, redirect: 'manual' });
      for (const cookie of res.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';');
        const eq = pair.indexOf('=');
        const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
        // One host, so paths and domains can be ignored; an expired cookie is a deleted one.
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
        else jar.set(name, value);
      }
      return res;
    };
    /** Follows redirects within the upstream; returns the first one that leaves it, or the page it stops at. */
    const follow = async (first: Response, from: string): Promise<{ left: string } | { page: string; url: string }> => {
      let res = first;
      let url = from;
      for (let hops = 0; hops < 10; hops++) {
        const location = res.headers.get('location');
        if (res.status < 300 || res.status > 399 || location === null) return { page: await res.text(), url };
        url = new URL(location, url).href;
        if (new URL(url).origin !== issuer) return { left: url };
        res = await request(url);
      }
      throw new Error('the upstream redirected more than 10 times');
    };

    let step = await follow(await request(authorizationUrl), authorizationUrl);
    if ('left' in step) return step.left;
    const form = /<form method="post" action="([^"]+)"/.exec(step.page);
    const abort = /formaction="([^"]+)"/.exec(step.page);
    if (form?.[1] === undefined || abort?.[1] === undefined) throw new Error(`no login form at ${step.url}: ${step.page.slice(0, 200)}`);
    const target = new URL(opts.cancel === true ? abort[1] : form[1], step.url).href;
    const res = await request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }),
    });
    step = await follow(res, target);
    if ('left' in step) return step.left;
    throw new Error(`the upstream did not send the browser back (wrong password?) at ${step.url}: ${step.page.slice(0, 200)}`);
  }

  return { issuer, loginOverHttp, close, stop, start };
}

/** What findAccount returns: the standard claims of Core §5.1 the user has. */
function account(user: UpstreamUser): Account {
  const claims = Object.fromEntries(Object.entries({
    preferred_username: user.username,
    email: user.email,
    email_verified: user.emailVerified,
    name: user.name,
    given_name: user.givenName,
    family_name: user.familyName,
  }).filter(([, v]) => v !== undefined));
  return { accountId: user.sub, claims: () => ({ sub: user.sub, ...claims }) };
}

/** The provider's storage contract, in a Map of this upstream's own; expired rows read as absent. */
function memoryAdapter(): AdapterFactory {
  const rows = new Map<string, { model: string; payload: AdapterPayload; expiresAt: number }>();
  const live = (key: string): AdapterPayload | undefined => {
    const row = rows.get(key);
    if (row !== undefined && row.expiresAt <= Date.now()) rows.delete(key);
    return row !== undefined && row.expiresAt > Date.now() ? row.payload : undefined;
  };
  return (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`;
    const findBy = (match: (p: AdapterPayload) => boolean): Promise<AdapterPayload | undefined> => {
      for (const [k, row] of rows) if (row.model === model && match(row.payload)) return Promise.resolve(live(k));
      return Promise.resolve(undefined);
    };
    return {
      upsert: (id, payload, expiresIn) => {
        rows.set(key(id), { model, payload, expiresAt: expiresIn === undefined ? Infinity : Date.now() + expiresIn * 1000 });
        return Promise.resolve();
      },
      find: (id) => Promise.resolve(live(key(id))),
      findByUid: (uid) => findBy((p) => p.uid === uid),
      findByUserCode: (userCode) => findBy((p) => p.userCode === userCode),
      consume: (id) => {
        const payload = live(key(id));
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
        return Promise.resolve();
      },
      destroy: (id) => {
        rows.delete(key(id));
        return Promise.resolve();
      },
      revokeByGrantId: (grantId) => {
        for (const [k, row] of rows) if (row.payload.grantId === grantId) rows.delete(k);
        return Promise.resolve();
      },
    };
  };
}

async function listen(port: number, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function page(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
}

function loginForm(uid: string, error: string): string {
  const action = `${INTERACTION}${escapeHtml(uid)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to the upstream</title></head>
<body><h1>Sign in</h1>${error === '' ? '' : `<p role="alert">${escapeHtml(error)}</p>`}
<form method="post" action="${action}/login">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
<button type="submit" formaction="${action}/abort" formnovalidate>Cancel</button>
</form></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
