// A tiny cookie-keeping "browser" over Fastify inject for the verification page tests: it opens
// URLs (following the /device 302 and keeping the dcs_browser cookie), reads the hidden fields of
// the page it is on, and submits its forms the way a browser would (relative action, urlencoded).
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { Client } from '../../src/model/records.ts';
import { DEVICE_CODE_GRANT, encodeForm, type TestApp } from '../helpers/build.ts';
import { assertNoStackTrace, type DeviceAuthorizationBody } from '../oauth/_support.ts';

export const CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const PASSWORD = 'correct horse battery';

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`' };

export function unescapeHtml(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|#39|#96);/g, (e) => ENTITIES[e] ?? e);
}

export class PageBrowser {
  readonly h: TestApp;
  /** The cookies this browser holds, by name (the flow's binding, the language a link chose). */
  readonly #jar = new Map<string, string>();
  /** Path (and query) of the page currently shown. */
  path = '/';
  last: LightMyRequestResponse | undefined;
  /** Sent with every request, e.g. the X-Forwarded-For a proxy would add (TRUST_PROXY); may be changed between requests. */
  headers: Record<string, string>;

  constructor(h: TestApp, headers: Record<string, string> = {}) {
    this.h = h;
    this.headers = headers;
  }

  /** Where a Location header points, as a path on this server (PUBLIC_URL stripped). */
  local(location: string): string {
    const base = this.h.config.publicUrl;
    assert.ok(location.startsWith(`${base}/`) || location.startsWith('/'), `redirect leaves the server: ${location}`);
    return location.startsWith('/') ? location : location.slice(base.length);
  }

  /** The Cookie header this browser sends (`name=value; …`), undefined while it holds none; settable like one. */
  get cookie(): string | undefined {
    return this.#jar.size === 0 ? undefined : [...this.#jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  set cookie(header: string | undefined) {
    this.#jar.clear();
    for (const pair of (header ?? '').split(';')) {
      const at = pair.indexOf('=');
      if (at > 0) this.#jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }

  #headers(): Record<string, string> {
    return this.cookie === undefined ? { ...this.headers } : { ...this.headers, cookie: this.cookie };
  }

  /** GET a URL; follows 302/303 redirects and keeps any cookie that is set. */
  async open(url: string): Promise<LightMyRequestResponse> {
    let path = this.local(url);
    for (let hops = 0; hops < 5; hops++) {
      const res = await this.h.inject({ method: 'GET', url: path, headers: this.#headers() });
      this.#keepCookie(res);
      if (res.statusCode === 302 || res.statusCode === 303) {
        path = this.local(String(res.headers.location));
        continue;
      }
      this.path = path;
      this.last = res;
      return res;
    }
    throw new Error('too many redirects');
  }

  /** The page currently shown. */
  get body(): string {
    assert.ok(this.last, 'no page open');
    return this.last.body;
  }

  /** The value of a named input on the current page. */
  field(name: string, body = this.body): string | undefined {
    const tag = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(body)?.[0];
    return tag === undefined ? undefined : unescapeHtml(/\bvalue="([^"]*)"/.exec(tag)?.[1] ?? '');
  }

  /** The inputs of the current page's form with their values, as a browser would send them. */
  formFields(body = this.body): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [tag] of body.matchAll(/<input[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(tag)?.[1];
      if (name !== undefined) out[name] = unescapeHtml(/\bvalue="([^"]*)"/.exec(tag)?.[1] ?? '');
    }
    return out;
  }

  /** POSTs the form of the current page (its fields as shown, then `fields`); does not follow redirects. */
  async post(fields: Record<string, string>, opts: { csrf?: string | null; cookie?: string | null } = {}): Promise<LightMyRequestResponse> {
    const body: Record<string, string> = { ...this.formFields(), ...fields };
    if (opts.csrf === null) delete body.csrf;
    else if (opts.csrf !== undefined) body.csrf = opts.csrf;
    const action = new URL('signon', `http://page.test${this.path}`).pathname;
    const cookie = opts.cookie === undefined ? this.cookie : opts.cookie;
    const res = await this.h.inject({
      method: 'POST',
      url: action,
      headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded', ...(cookie === null || cookie === undefined ? {} : { cookie }) },
      payload: encodeForm(body),
    });
    this.#keepCookie(res);
    return res;
  }

  /** POSTs a form and, like a browser, shows the result: follows a 303, or shows the re-rendered form. */
  async submit(fields: Record<string, string>, opts: { csrf?: string | null } = {}): Promise<LightMyRequestResponse> {
    const res = await this.post(fields, opts);
    if (res.statusCode === 303) {
      assertPageHeaders(res);
      return this.open(String(res.headers.location));
    }
    this.last = res;
    return res;
  }

  #keepCookie(res: LightMyRequestResponse): void {
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set === undefined ? [] : [set]) {
      const pair = c.split(';')[0] ?? '';
      const at = pair.indexOf('=');
      if (at > 0) this.#jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }
}

/** A device starts an authorization (asserts the 200). */
export async function deviceStarts(h: TestApp, client: Client, scope?: string): Promise<DeviceAuthorizationBody> {
  const res = await h.form('/oauth/device_authorization', { client_id: client.clientId, ...(scope === undefined ? {} : { scope }) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<DeviceAuthorizationBody>();
}

export function pollToken(h: TestApp, deviceCode: string, client: Client): Promise<LightMyRequestResponse> {
  return h.form('/oauth/token', { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: client.clientId });
}

/** The device's view: the token endpoint's answer, as status and `error` (or 'token'). */
export async function deviceSees(h: TestApp, deviceCode: string, client: Client): Promise<string> {
  const res = await pollToken(h, deviceCode, client);
  if (res.statusCode === 200) {
    assert.equal(typeof res.json<{ access_token: unknown }>().access_token, 'string');
    return 'token';
  }
  return res.json<{ error: string }>().error;
}

/** CSP (the page's own, or `csp` for a branded environment's), no-store, X-Frame-Options on a page response. */
export function assertPageHeaders(res: LightMyRequestResponse, csp = CSP): void {
  assert.equal(res.headers['content-security-policy'], csp);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['x-frame-options'], 'DENY');
}

/**
 * An HTML page (never JSON, never a stack trace) with the page's headers and the given status; in
 * English with the page's own CSP unless `o` says which language and CSP.
 */
export function assertHtmlPage(res: LightMyRequestResponse, status: number, o: { lang?: string; csp?: string } = {}): string {
  assert.equal(res.statusCode, status, `expected ${status}, got ${res.statusCode}: ${res.body.slice(0, 500)}`);
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
  assertPageHeaders(res, o.csp);
  assert.ok(res.body.startsWith(`<!doctype html>\n<html lang="${o.lang ?? 'en'}">`), res.body.slice(0, 200));
  assert.match(res.body, /<main[ >]/);
  assert.doesNotMatch(res.body, /"error"\s*:|error_description|invalid_grant|server_error/);
  assertNoStackTrace(res.body);
  return res.body;
}

/** The text of the page's role="alert" message, if any. */
export function alertText(body: string): string | undefined {
  return /<p class="alert"[^>]*role="alert">([^<]*)<\/p>/.exec(body)?.[1];
}

/** The flow's status, read from the store (what changed, whatever the page shows). */
export async function flowStatus(h: TestApp, flowId: string): Promise<string | undefined> {
  return (await h.services.store.flows.get(h.services.defaultEnv.id, flowId, h.clock.now()))?.status;
}

/** Opens the page for a code (verification_uri_complete), signs in, and lands on the code step. */
export async function signedIn(h: TestApp, url: string, username: string, headers: Record<string, string> = {}): Promise<PageBrowser> {
  const b = new PageBrowser(h, headers);
  assertHtmlPage(await b.open(url), 200);
  const res = await b.submit({ username, password: PASSWORD });
  assertHtmlPage(res, 200);
  assert.match(b.body, /name="action" value="code"/);
  return b;
}
