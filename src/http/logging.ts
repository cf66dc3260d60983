// pino options: JSON lines with a request id; secrets never reach the log. Bodies are not logged;
// headers that carry credentials are redacted, and so are the values of query parameters that can
// carry a code or a token, recognised by their decoded name (so `user%5Fcode=` is redacted too).
// A person's address is personal data: requests are logged with its /24 (IPv4) or /48 (IPv6) only
// (README "Where a request came from"); the full address stays with the device authorization.
import type { FastifyServerOptions } from 'fastify';
import { truncateAddress } from '../geoip/address.ts';

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

/** The URL with the value of every sensitive query parameter replaced by [REDACTED]. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    return SENSITIVE.has(decodedName(name)) ? `${name}=[REDACTED]` : pair;
  });
  return `${url.slice(0, q)}?${query.join('&')}`;
}

/** Fastify's logger options as an object (never `true`/`false`), so callers may extend them. */
export type LoggerOptions = Exclude<NonNullable<FastifyServerOptions['logger']>, boolean>;

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
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  };
}
