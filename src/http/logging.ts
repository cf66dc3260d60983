// pino options: JSON lines with a request id; secrets never reach the log. Bodies are not logged;
// headers that carry credentials are redacted, and so are the values of query parameters that can
// carry a code or a token, recognised by their decoded name (so `user%5Fcode=` is redacted too), and
// path segments and parameter values that hold a token whatever their name (someone pasting
// `/oauth/userinfo/eyJ…`): a JWT, or a device code or refresh token by its prefix, once decoded.
// A person's address is personal data: requests are logged with its /24 (IPv4) or /48 (IPv6) only
// (README "Where a request came from"); the full address stays with the device authorization.
//
// One line per request, written when the answer is sent (RequestLog below): `GET /device 302 1.2 ms`
// with the request id, the method, the redacted URL, the status and the time, and for a refusal its
// error code and log-only reason (`POST /oauth/token 400 3.1 ms invalid_grant`); in JSON with those
// as fields too. Failures (5xx) also get a line of their own at error, with the cause. Health and readiness probes and metrics scrapes (routes with `config.probe`) are logged
// at debug: an orchestrator asking every few seconds would drown everything else at info.
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { truncateAddress } from '../geoip/address.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A health or readiness probe, or a metrics scrape: its request line is logged at debug. */
    probe?: boolean;
  }
}

const SENSITIVE = new Set([
  'user_code', 'usercode', 'code', 'device_code', 'devicecode', 'deviceregistrationcode', 'token', 'access_token',
  'refresh_token', 'id_token', 'password', 'client_secret', 'secret', 'flowid', 'csrf', 'state',
]);

function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).trim().toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * A token in a path segment: a JWT (a base64url header, which always begins `eyJ` for `{"`, a dot,
 * a payload: the signature may be cut off), or one of our codes and tokens by its prefix
 * (`dc_` device codes, `rt_` refresh tokens, src/crypto/codes.ts), with enough after it to be one.
 */
const TOKEN_IN_SEGMENT = /eyJ[\w-]{4,}\.[\w-]+|(?:^|[^A-Za-z0-9])(?:dc|rt)_[\w-]{8,}/;

function decodedSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The path with every segment that holds a token replaced by [REDACTED]. */
function redactPath(path: string): string {
  if (!/eyJ|dc_|rt_|%/i.test(path)) return path;
  return path.split('/').map((segment) => (TOKEN_IN_SEGMENT.test(decodedSegment(segment)) ? '[REDACTED]' : segment)).join('/');
}

/** The URL with every path segment holding a token and the value of every sensitive query parameter replaced by [REDACTED]. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactPath(url);
  const query = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    // A token under any other name is one too.
    const holdsToken = eq >= 0 && TOKEN_IN_SEGMENT.test(decodedSegment(pair.slice(eq + 1).replace(/\+/g, ' ')));
    return SENSITIVE.has(decodedName(name)) || holdsToken ? `${name}=[REDACTED]` : pair;
  });
  return `${redactPath(url.slice(0, q))}?${query.join('&')}`;
}

/** Fastify's logger options as an object (never `true`/`false`), so callers may extend them. */
export type LoggerOptions = Exclude<NonNullable<FastifyServerOptions['logger']>, boolean>;

/** Milliseconds for people: one decimal below 10 ms, whole above. */
function duration(ms: number): string {
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

/** Why a request was refused, for its line in the log: the error code, and the log-only reason. */
interface Refusal {
  code: string;
  reason?: string | undefined;
}

const refusals = new WeakMap<FastifyRequest, Refusal>();

/** Notes the refusal a request is answered with (http/wire-format.ts): its log line will say it. */
export function noteRefusal(request: FastifyRequest, refusal: Refusal): void {
  refusals.set(request, refusal);
}

/** Fastify's request logging, as one line per request written when the answer has gone out. */
export class RequestLog extends LogController {
  override incomingRequest(): void {
    // Nothing: the line is written once the status is known.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const refused = refusals.get(request);
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime, ...(refused ? { refused } : {}), ...(error ? { err: error } : {}) };
    const why = refused === undefined ? '' : ` ${refused.code}${refused.reason === undefined ? '' : ` (${refused.reason})`}`;
    const line = `${request.method} ${redactUrl(request.url)} ${reply.statusCode} ${duration(reply.elapsedTime)} ms${why}`;
    if (error) reply.log.error(fields, line);
    else if (request.routeOptions.config.probe === true) reply.log.debug(fields, line);
    else reply.log.info(fields, line);
  }
}

/**
 * pino-pretty's options for a terminal: the request id before the message, and the fields the
 * message already says left out, so a request is one line.
 */
export const PRETTY_OPTIONS = {
  translateTime: 'SYS:HH:MM:ss',
  ignore: 'pid,hostname,reqId,req,res,responseTime,refused',
  messageFormat: '{if reqId}[{reqId}] {end}{msg}',
} as const;

export function loggerOptions(level: string, pretty: boolean): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
        '*.password', '*.client_secret', '*.device_code', '*.user_code', '*.access_token', '*.secret',
        '*.deviceRegistrationCode', '*.accessKey', '*.token',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: redactUrl(req.url), ip: truncateAddress(req.ip) }),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: PRETTY_OPTIONS } } : {}),
  };
}
