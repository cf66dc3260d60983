// Generated from src/client by scripts/build-client.ts: do not edit.
// The HTTP side of the device-login client: the injectable fetch, clock and sleep, the URL checks
// (https unless loopback), one request with its timeout and network-error wording, the form POST
// with client authentication (RFC 6749 §2.3.1), and OAuth error answers (RFC 6749 §5.2) as
// DeviceLoginErrors. Only node: built-ins and the global fetch: other packages import the JavaScript
// build of this directory (dist/client), so nothing here may reach into the server.
import { setTimeout as delay } from 'node:timers/promises';
import { DeviceLoginError, printable } from "./errors.js";
export const DEFAULT_TIMEOUT_MS = 30_000;
export const realClock = { now: () => Date.now() };
export const realSleep = (ms, signal) => delay(ms, undefined, signal === undefined ? undefined : { signal });
const LOOPBACK = /^(localhost|[^.]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
/** A URL the client may talk to: http(s), no credentials inside, https unless loopback or allowed. */
export function checkUrl(value, what, allowHttp, code = 'invalid_response') {
    if (typeof value !== 'string' || !URL.canParse(value))
        throw new DeviceLoginError(code, `${what} is not a URL`);
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new DeviceLoginError(code, `${what} must be an http(s) URL, got ${printable(url.protocol)}`);
    if (url.username !== '' || url.password !== '')
        throw new DeviceLoginError(code, `${what} must not contain credentials`);
    if (url.protocol === 'http:' && !allowHttp && !LOOPBACK.test(url.hostname)) {
        throw new DeviceLoginError('insecure_url', `${what} ${printable(url.origin)} is plain http to another machine; use https (or allow http explicitly)`);
    }
    return url;
}
function requestSignal(opts) {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
}
export function aborted() {
    return new DeviceLoginError('aborted', 'the login was cancelled');
}
export async function send(url, init, opts) {
    const fetchFn = opts.fetch ?? fetch;
    let res;
    let text;
    try {
        // OAuth endpoints do not redirect; following one could carry the client's credentials elsewhere.
        res = await fetchFn(url, { ...init, redirect: 'error', signal: requestSignal(opts) });
        text = await res.text();
    }
    catch (err) {
        if (opts.signal?.aborted === true)
            throw aborted();
        throw new DeviceLoginError('network', `cannot reach ${printable(url)} (${networkReason(err)})`, { cause: err });
    }
    let json;
    try {
        const parsed = JSON.parse(text);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
            json = parsed;
    }
    catch {
        json = undefined;
    }
    const retry = Number(res.headers.get('retry-after') ?? Number.NaN);
    return { status: res.status, json, retryAfter: Number.isFinite(retry) && retry >= 0 ? retry : undefined };
}
/** ECONNREFUSED, a timeout, a redirect: the gist of why fetch failed, without its stack. */
export function networkReason(err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
        return 'timed out';
    const cause = err instanceof Error ? err.cause : undefined;
    if (typeof cause === 'object' && cause !== null) {
        if ('code' in cause && typeof cause.code === 'string')
            return printable(cause.code, 60);
        if (cause instanceof Error)
            return printable(cause.message, 100);
    }
    return err instanceof Error ? printable(err.message, 100) : 'failed';
}
/** RFC 6749 §2.3.1: the client id and secret are form-encoded before they are joined for Basic. */
const formEncode = (s) => new URLSearchParams([['', s]]).toString().slice(1);
export function postForm(url, params, credentials, metadata, opts) {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const body = new URLSearchParams(params);
    if (credentials.clientSecret === undefined) {
        body.set('client_id', credentials.clientId);
    }
    else {
        // RFC 8414 §2: a server that lists no methods takes client_secret_basic.
        const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
        if (methods.includes('client_secret_post') && !methods.includes('client_secret_basic')) {
            body.set('client_id', credentials.clientId);
            body.set('client_secret', credentials.clientSecret);
        }
        else {
            headers.authorization = `Basic ${Buffer.from(`${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`).toString('base64')}`;
        }
    }
    return send(url, { method: 'POST', headers, body: body.toString() }, opts);
}
const KNOWN_ERRORS = new Set([
    'access_denied', 'expired_token', 'invalid_client', 'invalid_grant', 'invalid_request', 'invalid_scope',
    'unauthorized_client', 'unsupported_grant_type', 'server_error', 'temporarily_unavailable',
]);
const ERROR_TEXT = {
    access_denied: 'sign-in was denied',
    expired_token: 'the code expired before it was approved',
    invalid_client: 'the server does not accept this client: unknown client id or wrong secret',
    invalid_scope: 'the server refused the requested scope',
    unauthorized_client: 'this client may not use the device flow',
};
/** An error answer (RFC 6749 §5.2) as a DeviceLoginError; `what` names the request, `texts` overrides the gists. */
export function oauthFailure(answer, what, texts = {}) {
    const error = answer.json?.error;
    const description = typeof answer.json?.error_description === 'string' ? printable(answer.json.error_description) : '';
    if (typeof error !== 'string' || error === '') {
        const code = answer.status >= 500 ? 'server_error' : 'invalid_response';
        return new DeviceLoginError(code, `${what} failed: HTTP ${answer.status} without an OAuth error`, { status: answer.status });
    }
    const code = KNOWN_ERRORS.has(error) ? error : 'oauth_error';
    const gist = texts[code] ?? ERROR_TEXT[code] ?? `${what} failed`;
    const detail = [printable(error, 60), description].filter((s) => s !== '' && s !== code).join(': ');
    return new DeviceLoginError(code, detail === '' ? gist : `${gist} (${detail})`, { oauthError: error, status: answer.status });
}
