// Checks of configuration values that the schema in config.ts cannot make alone: secrets read from
// files, the audit webhook's URL and secret, and a database URL made fit for logs. Each failure is a
// ConfigError naming its variable.
import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function readSecretFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * A PostgreSQL URL fit for logs and output: the password is dropped, and so is the query string
 * (libpq-style parameters may carry one too, e.g. `?password=`).
 */
export function redactDatabaseUrl(url: string): string {
  const u = new URL(url);
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.toString();
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** The audit webhook: https anywhere, plain http on loopback only; a secret to sign with is required. */
export function webhookOf(url: string | undefined, secret: string | undefined, secretFile: string | undefined): { url: string; secret: string } | undefined {
  if (secret !== undefined && secretFile !== undefined) throw new ConfigError('AUDIT_WEBHOOK_SECRET and AUDIT_WEBHOOK_SECRET_FILE: set one, not both');
  if (url === undefined) return undefined;
  const u = new URL(url);
  // fetch refuses a URL with credentials, naming it, password included, in the error it throws: every
  // delivery would fail and its log line would hold the password. The signature authenticates.
  if (u.username !== '' || u.password !== '') {
    throw new ConfigError('AUDIT_WEBHOOK_URL: must not hold a user or password; receivers check the signature made with AUDIT_WEBHOOK_SECRET');
  }
  if (u.protocol === 'http:' && !LOOPBACK_HOST.test(u.hostname)) {
    throw new ConfigError('AUDIT_WEBHOOK_URL: plain http is allowed on loopback only (localhost, 127.0.0.0/8, ::1); use https');
  }
  const key = secret ?? (secretFile === undefined ? undefined : readSecretFile('AUDIT_WEBHOOK_SECRET_FILE', secretFile));
  if (key === undefined) throw new ConfigError('AUDIT_WEBHOOK_URL: set AUDIT_WEBHOOK_SECRET (or AUDIT_WEBHOOK_SECRET_FILE), the key its events are signed with');
  if (key.length < 16) throw new ConfigError('AUDIT_WEBHOOK_SECRET_FILE: the secret must be at least 16 characters');
  return Object.freeze({ url, secret: key });
}
