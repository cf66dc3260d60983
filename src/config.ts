// The one place that reads process.env (nothing else may: docs/architecture.md). Every variable is
// parsed once by a zod schema; a bad value stops the start with a message naming the variable.
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, readSecretFile, redactDatabaseUrl, webhookOf } from './config-values.ts';

export { ConfigError, redactDatabaseUrl } from './config-values.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

// TRUST_PROXY: off (default) | on | a hop count | comma-separated addresses/CIDRs (Fastify's forms).
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): boolean | number | string[] => {
    const lower = v.toLowerCase();
    if (['', 'off', 'false', '0', 'no'].includes(lower)) return false;
    if (['on', 'true', 'yes'].includes(lower)) return true;
    if (/^\d+$/.test(v)) return Number(v);
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (list.every((s) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s))) return list;
    ctx.addIssue({ code: 'custom', message: 'expected off, on, a hop count or a list of addresses' });
    return z.NEVER;
  });

// PUBLIC_URL is the issuer (RFC 8414 §2: no query or fragment) and the base every printed URL is
// joined to, so it must be absolute: a bare host name would make every link relative. The message
// never repeats the value.
const publicUrl = z
  .url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL such as https://auth.example.com' })
  .refine((v) => {
    if (!URL.canParse(v)) return true; // reported by the check above
    const u = new URL(v);
    return u.search === '' && u.hash === '' && u.username === '' && u.password === '';
  }, 'must not hold a query, a fragment, a user or a password')
  .transform((u) => u.replace(/\/+$/, ''));

// A PostgreSQL connection URL, for several instances on one database. The messages never repeat
// the value: it may hold a password.
export const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' });

// REDIS_URL: redis://[[user]:password@]host[:port][/db] or rediss:// (TLS). The value may hold a
// password, so no message repeats it.
const redisUrl = z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' });

const userCodeCharset = z
  .string()
  .regex(/^[A-Z0-9]{10,36}$/, 'expected 10-36 distinct characters from A-Z and 0-9')
  .refine((s) => new Set(s).size === s.length, 'characters must be distinct');

const schema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_PATH: z.string().min(1).optional(),
  // SQLite's synchronous setting in WAL mode: normal survives a crash of the process, full also a power loss.
  SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: int(1, 1000).default(10),
  PUBLIC_URL: publicUrl.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: trustProxy.default(false),
  SERVER_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SERVER_SECRET_FILE: z.string().min(1).optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_TOKEN_FILE: z.string().min(1).optional(),
  BODY_LIMIT: int(1024, 1024 * 1024).default(16 * 1024),
  USER_CODE_CHARSET: userCodeCharset.default('BCDFGHJKLMNPQRSTVWXZ'),
  USER_CODE_LENGTH: int(6, 16).default(8),
  SWEEP_INTERVAL_SECONDS: int(0, 86_400).default(60),
  RATE_LIMIT_DEVICE_AUTHORIZATION: int(1, 1_000_000).default(60),
  RATE_LIMIT_TOKEN: int(1, 1_000_000).default(600),
  RATE_LIMIT_DISCOVERY: int(1, 1_000_000).default(600),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 3600).default(60),
  SHUTDOWN_GRACE_SECONDS: int(0, 600).default(10),
  CODE_GUESS_BUDGET: int(1, 1000).default(5),
  CODE_GUESS_WINDOW_SECONDS: int(60, 86_400).default(600),
  RATE_LIMIT_VERIFICATION: int(1, 1_000_000).default(60),
  RATE_LIMIT_SESSION: int(1, 1_000_000).default(60),
  RATE_LIMIT_ADMIN_API: int(1, 1_000_000).default(120),
  RATE_LIMIT_DEVICE_REGISTRATION: int(1, 1_000_000).default(30),
  RATE_LIMIT_CLIENT_AUTH_FAILURES: int(1, 1_000_000).default(20),
  RATE_LIMIT_USERINFO: int(1, 1_000_000).default(600),
  RATE_LIMIT_MAX_KEYS: int(1000, 10_000_000).default(100_000),
  ACCOUNT_SIGN_IN_FAILURES: int(1, 1000).default(10),
  ACCOUNT_SIGN_IN_WINDOW_SECONDS: int(60, 86_400).default(900),
  SESSION_TOKEN_LIFETIME_SECONDS: int(60, 86_400).default(3600),
  REGISTRATION_CODE_LIFETIME_SECONDS: int(60, 3600).default(300),
  JWT_CLOCK_TOLERANCE_SECONDS: int(0, 300).default(60),
  REFRESH_REUSE_GRACE_SECONDS: int(0, 300).default(0),
  // scrypt's N for passwords: a power of two from 2^14 to 2^18 (OWASP's minimum, 2^17, by default).
  REDIS_URL: redisUrl.optional(),
  // An operator's own MaxMind databases instead of the shipped ones (README "Where a request came from").
  GEOIP_COUNTRY_DB: z.string().min(1).optional(),
  GEOIP_ASN_DB: z.string().min(1).optional(),
  PASSWORD_SCRYPT_N: int(2 ** 14, 2 ** 18).refine((n) => (n & (n - 1)) === 0, 'must be a power of two').default(2 ** 17),
  AUDIT_RETENTION_DAYS: int(1, 3650).default(90),
  AUDIT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  AUDIT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  AUDIT_WEBHOOK_SECRET_FILE: z.string().min(1).optional(),
});

/** Every variable the server reads (the README documents each one; a test holds them together). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  /** The SQLite file (the store unless databaseUrl is set). */
  databasePath: string;
  /** SQLite's `synchronous` (README "Durability"). */
  sqliteSynchronous: 'normal' | 'full';
  /** PostgreSQL instead of SQLite (for several instances): a postgres:// URL. Holds a password: log databaseLabel instead. */
  databaseUrl: string | undefined;
  /** Connections each instance's PostgreSQL pool may open. */
  databasePoolSize: number;
  /** The database for people and logs: the SQLite path, or the PostgreSQL URL without its password and query. */
  databaseLabel: string;
  publicUrl: string;
  /**
   * HOST listens on every interface but PUBLIC_URL is not set: publicUrl is then http://localhost:PORT,
   * a loopback URL that phones and other machines cannot open (the launcher warns once at start).
   */
  loopbackPublicUrl: boolean;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  trustProxy: boolean | number | string[];
  /** An explicit server secret (from SERVER_SECRET or SERVER_SECRET_FILE); otherwise one is kept in dataDir. */
  serverSecret: string | undefined;
  bodyLimit: number;
  userCode: Readonly<{ charset: string; length: number }>;
  sweepIntervalSeconds: number;
  rateLimit: Readonly<{
    deviceAuthorization: number; token: number; discovery: number; verification: number;
    /** Veeam facade: per session subject (getDeviceCode) and per source address (its token endpoint). */
    session: number;
    /** RSA admin API: per admin key (accessID); failed authentications per source address. */
    adminApi: number;
    /** Device registration (redemption of codes): per source address. */
    deviceRegistration: number;
    /** Unknown clients and failed client authentications, per source address, before any hashing. */
    clientAuthFailures: number;
    /** UserInfo, per token subject (a failed authentication per source address). */
    userInfo: number;
    /** Keys one limit holds; past it, new callers share one budget. */
    maxKeys: number;
    windowSeconds: number;
  }>;
  /** Wrong passwords per account (username) in a window, whatever the source. */
  accountSignIn: Readonly<{ maxFailures: number; windowSeconds: number }>;
  shutdownGraceSeconds: number;
  /** Wrong user codes a source address may make per sliding window (RFC 8628 §5.1). */
  codeGuessBudget: Readonly<{ max: number; windowSeconds: number }>;
  /** Lifetime of Veeam-style session tokens (docs/vendors.md). */
  sessionTokenLifetimeSeconds: number;
  /** Lifetime of RSA-style device registration codes (docs/vendors.md). */
  registrationCodeLifetimeSeconds: number;
  /** Clock skew allowed when verifying JWTs (RSA documents ±60 s for its admin tokens). */
  jwtClockToleranceSeconds: number;
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** A rotated-out refresh token presented again within this many seconds is a retry, not a theft (RFC 9700 §4.14.2). */
  refreshReuseGraceSeconds: number;
  /** scrypt cost of password hashes (r=8, p=1); weaker stored hashes are upgraded at sign-in. */
  passwordCost: Readonly<{ N: number; r: number; p: number }>;
  /**
   * When set, rate-limit counters and the wrong-code budget live in this Redis, shared by every
   * instance (README, "Shared limits"). It may hold a password: log `redisAddress(url)` instead,
   * never the URL.
   */
  redisUrl: string | undefined;
  /** Audit events older than this are swept. */
  auditRetentionDays: number;
  /** Where audit events are POSTed, signed with `secret` (README "Audit trail"); none when unset. */
  auditWebhook: Readonly<{ url: string; secret: string }> | undefined;
  /**
   * MaxMind .mmdb files that say where a request came from (a Country or City database, an ASN
   * database); undefined: the databases shipped as npm packages (src/geoip/open.ts).
   */
  geoIp: Readonly<{ countryDb: string | undefined; asnDb: string | undefined }>;
}>;

/** Parses the environment into a frozen Config, or throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.SERVER_SECRET !== undefined && e.SERVER_SECRET_FILE !== undefined) {
    throw new ConfigError('SERVER_SECRET and SERVER_SECRET_FILE: set one, not both');
  }
  const serverSecret = e.SERVER_SECRET ?? (e.SERVER_SECRET_FILE === undefined ? undefined : readSecretFile('SERVER_SECRET_FILE', e.SERVER_SECRET_FILE));
  if (serverSecret !== undefined && serverSecret.length < 32) {
    throw new ConfigError('SERVER_SECRET_FILE: the secret must be at least 32 characters');
  }
  if (e.METRICS_TOKEN !== undefined && e.METRICS_TOKEN_FILE !== undefined) {
    throw new ConfigError('METRICS_TOKEN and METRICS_TOKEN_FILE: set one, not both');
  }
  const metricsToken = e.METRICS_TOKEN ?? (e.METRICS_TOKEN_FILE === undefined ? undefined : readSecretFile('METRICS_TOKEN_FILE', e.METRICS_TOKEN_FILE));
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN_FILE: the token must be at least 16 characters');
  }
  const auditWebhook = webhookOf(e.AUDIT_WEBHOOK_URL, e.AUDIT_WEBHOOK_SECRET, e.AUDIT_WEBHOOK_SECRET_FILE);
  const dataDir = path.resolve(e.DATA_DIR);
  const databasePath = path.resolve(e.DATABASE_PATH ?? path.join(dataDir, 'device-code-server.db'));
  const everyInterface = e.HOST === '0.0.0.0' || e.HOST === '::';
  const displayHost = everyInterface ? 'localhost' : e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databasePath,
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseLabel: e.DATABASE_URL === undefined ? databasePath : redactDatabaseUrl(e.DATABASE_URL),
    publicUrl: e.PUBLIC_URL ?? `http://${displayHost}:${e.PORT}`,
    loopbackPublicUrl: everyInterface && e.PUBLIC_URL === undefined,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    serverSecret,
    bodyLimit: e.BODY_LIMIT,
    userCode: Object.freeze({ charset: e.USER_CODE_CHARSET, length: e.USER_CODE_LENGTH }),
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    rateLimit: Object.freeze({
      deviceAuthorization: e.RATE_LIMIT_DEVICE_AUTHORIZATION,
      token: e.RATE_LIMIT_TOKEN,
      discovery: e.RATE_LIMIT_DISCOVERY,
      verification: e.RATE_LIMIT_VERIFICATION,
      session: e.RATE_LIMIT_SESSION,
      adminApi: e.RATE_LIMIT_ADMIN_API,
      deviceRegistration: e.RATE_LIMIT_DEVICE_REGISTRATION,
      clientAuthFailures: e.RATE_LIMIT_CLIENT_AUTH_FAILURES,
      userInfo: e.RATE_LIMIT_USERINFO,
      maxKeys: e.RATE_LIMIT_MAX_KEYS,
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    }),
    accountSignIn: Object.freeze({ maxFailures: e.ACCOUNT_SIGN_IN_FAILURES, windowSeconds: e.ACCOUNT_SIGN_IN_WINDOW_SECONDS }),
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    codeGuessBudget: Object.freeze({ max: e.CODE_GUESS_BUDGET, windowSeconds: e.CODE_GUESS_WINDOW_SECONDS }),
    sessionTokenLifetimeSeconds: e.SESSION_TOKEN_LIFETIME_SECONDS,
    registrationCodeLifetimeSeconds: e.REGISTRATION_CODE_LIFETIME_SECONDS,
    jwtClockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
    metricsToken,
    refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
    passwordCost: Object.freeze({ N: e.PASSWORD_SCRYPT_N, r: 8, p: 1 }),
    redisUrl: e.REDIS_URL,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    auditWebhook,
    geoIp: Object.freeze({
      countryDb: e.GEOIP_COUNTRY_DB === undefined ? undefined : path.resolve(e.GEOIP_COUNTRY_DB),
      asnDb: e.GEOIP_ASN_DB === undefined ? undefined : path.resolve(e.GEOIP_ASN_DB),
    }),
  });
}
