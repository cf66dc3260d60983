// The launcher: config → services → buildApp → listen. Signals, shutdown and the sweeper live here
// and nowhere else.
import type { FastifyInstance } from 'fastify';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.ts';
import { AuditWebhook } from './audit/webhook.ts';
import { ConfigError, type Config } from './config.ts';
import type { Clock } from './model/clock.ts';
import { loggerOptions } from './http/logging.ts';
import { openServices, type Services } from './services.ts';
import { takeServerLock, type ServerLock } from './store/sqlite/server-lock.ts';
import type { Lifecycle } from './surfaces/ops/routes.ts';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  /** The address actually bound (useful with PORT=0). */
  url: string;
  /** Stop accepting, mark not-ready, finish in-flight requests, close the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Pretty logs for people: only when stdout is a terminal. */
  pretty?: boolean;
  logger?: boolean;
}

/**
 * One server per SQLite DATA_DIR (store/sqlite/server-lock.ts); PostgreSQL is meant for several.
 * Undefined with DATABASE_URL.
 */
function lockDataDir(config: Config): ServerLock | undefined {
  if (config.databaseUrl !== undefined) return undefined;
  const lock = takeServerLock(config.dataDir);
  if ('release' in lock) return lock;
  const holder = lock.pid === undefined ? 'another server' : `another server (pid ${lock.pid})`;
  throw new ConfigError(`DATA_DIR ${config.dataDir} is in use by ${holder}: stop it first, or give this one a DATA_DIR of its own; `
    + `if no server runs there any more, delete ${lock.file}`);
}

/** A REDIS_URL that cannot be used stops the start (README "Shared limits"); later outages are ridden out. */
async function checkRedis(config: Config, services: Services): Promise<void> {
  if (config.redisUrl === undefined || services.redis === undefined) return;
  const { probeRedis } = await import('./redis/connection.ts');
  const failure = await probeRedis(config.redisUrl);
  if (failure !== undefined) throw new ConfigError(`REDIS_URL: cannot use Redis at ${services.redis.address}: ${failure}`);
}

export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const lock = lockDataDir(config);
  let services: Services;
  try {
    services = await openServices(config, opts.clock ? { clock: opts.clock } : {});
  } catch (err) {
    lock?.release();
    throw err;
  }
  const lifecycle: Lifecycle = { shuttingDown: false };
  let app: FastifyInstance;
  try {
    await checkRedis(config, services);
    // The IP databases are whole in memory before the first request (nothing loads on a request).
    services.geoIp.warm();
    app = await buildApp({
      services,
      lifecycle,
      logger: opts.logger === false ? false : loggerOptions(config.logLevel, opts.pretty ?? false),
    });
    if (config.loopbackPublicUrl) {
      app.log.warn({ host: config.host, publicUrl: config.publicUrl },
        `PUBLIC_URL is not set, so the issuer, the verification URI and its QR code are ${config.publicUrl}, a loopback URL that phones and other machines cannot reach; set PUBLIC_URL=https://… to the address people open (README "Configuration")`);
    }
    if (services.generatedSecretFile !== undefined) {
      app.log.warn({ file: services.generatedSecretFile },
        'generated a new server secret; back it up with the database (codes and keys depend on it), or set SERVER_SECRET_FILE');
    }
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await services.close();
    lock?.release();
    throw err;
  }

  // Expired rows are swept so the database stays bounded under constant load; audit events after
  // AUDIT_RETENTION_DAYS.
  const sweeper = config.sweepIntervalSeconds > 0
    ? setInterval(() => {
      const now = services.clock.now();
      services.store.sweep(now, now - config.auditRetentionDays * 86_400_000).then(
        // Any kind counts (flows and registration codes expire on their own, without device codes).
        (r) => { if (Object.values(r).some((n) => n > 0)) app.log.info({ swept: r }, 'swept expired rows'); },
        (err: unknown) => { app.log.error({ err }, 'sweep failed'); },
      );
    }, config.sweepIntervalSeconds * 1000)
    : undefined;
  sweeper?.unref();

  // The audit webhook drains the outbox in the background; what it has not confirmed stays there.
  const hook = config.auditWebhook;
  const webhook = hook === undefined ? undefined : new AuditWebhook({
    outbox: services.store.auditOutbox, clock: services.clock, telemetry: services.metrics, url: hook.url, secret: hook.secret,
    onError: (message) => { app.log.warn(message); },
  });
  webhook?.start();

  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    close() {
      closing ??= (async () => {
        lifecycle.shuttingDown = true;
        clearInterval(sweeper);
        await webhook?.stop();
        // Fastify closes the keep-alive connections that are idle when closing starts; one that was
        // waiting for its answer goes idle only after it, and would hold the close open until its
        // keep-alive timeout. So idle connections are closed again until the server has shut.
        const idle = setInterval(() => { app.server.closeIdleConnections(); }, 50);
        try {
          await app.close();
        } finally {
          clearInterval(idle);
        }
        await services.close();
        lock?.release();
      })();
      return closing;
    },
  };
}

/**
 * `device-code-server serve`: runs until SIGTERM or SIGINT (close-with-grace), then shuts down
 * gracefully: not ready, no new connections, in-flight requests finish, the database closes. A
 * crash (an uncaught error) takes the same path. Past SHUTDOWN_GRACE_SECONDS it exits 1; a second
 * signal is ignored so the first shutdown can finish.
 */
export async function runServer(config: Config): Promise<void> {
  const pretty = process.stdout.isTTY;
  const server = await startServer(config, { pretty });
  const log = server.app.log;
  // The database and the Redis address without their credentials (both URLs may hold a password).
  log.info({
    url: server.url, publicUrl: config.publicUrl, database: config.databaseLabel, redis: server.services.redis?.address,
    ipDatabases: server.services.geoIp.sources,
  }, 'device-code-server listening');
  closeWithGrace({
    delay: config.shutdownGraceSeconds * 1000,
    logger: { error: (message: unknown) => { log.error({ detail: message }, 'shutdown'); } },
    onTimeout: (delay) => { log.error({ delay }, 'graceful shutdown timed out; exiting'); },
    onSecondSignal: (signal) => { log.warn({ signal }, 'already shutting down'); },
  }, async ({ signal, err }) => {
    if (err) log.fatal({ err }, 'unexpected error; shutting down');
    else log.info({ signal }, 'shutting down');
    await server.close();
    log.info('shut down');
  });
}
