// pino options: JSON lines with a request id; secrets never reach the log. Bodies are not logged;
// headers that carry credentials and query parameters that carry codes are redacted.
import type { FastifyServerOptions } from 'fastify';

const SENSITIVE_QUERY = /([?&](?:user_code|code|device_code|token|access_token|password|client_secret|flowId)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SENSITIVE_QUERY, '$1[REDACTED]');
}

export function loggerOptions(level: string, pretty: boolean): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
        '*.password', '*.client_secret', '*.device_code', '*.user_code', '*.access_token', '*.secret',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: redactUrl(req.url), ip: req.ip }),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  };
}
