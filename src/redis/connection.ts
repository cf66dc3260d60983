// The one Redis connection of a process (REDIS_URL, README "Shared limits"): rate-limit counters and the
// wrong-code budget, shared by every instance. A dead Redis must answer fast rather than hold
// requests: connects and commands time out after REDIS_TIMEOUT_MS, nothing is queued while the
// connection is down and nothing is retried, so each caller decides at once what an outage means
// (the limits fall back to this process, the guess budget refuses). The connection knows whether
// Redis answered last, and tells its listeners when that changes, so an outage is logged once.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

/** How long a connect or one command may take before it counts as a failure. */
export const REDIS_TIMEOUT_MS = 500;

/** Keys longer than this are replaced by their hash, so an attacker's long username cannot grow Redis keys. */
const MAX_RAW_KEY = 100;

/** A Lua script, run by its SHA1 (EVALSHA) and sent whole only when Redis does not know it yet. */
export class Script {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/** `namespace` + the key, or its SHA-256 when long: bounded length, and raw keys never collide with hashed ones. */
export function redisKey(namespace: string, key: string): string {
  return key.length <= MAX_RAW_KEY ? `${namespace}k:${key}` : `${namespace}h:${createHash('sha256').update(key).digest('base64url')}`;
}

/** Where REDIS_URL points, for logs: scheme, host, port and database, never the credentials. */
export function redisAddress(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/**
 * How long the server's start waits for Redis: longer than a request may (a first connect may cross
 * a network and a TLS handshake), short enough that a wrong address stops the start soon.
 */
export const REDIS_START_TIMEOUT_MS = 5000;

/**
 * Whether Redis at `url` answers a PING now, asked once on a connection of its own that is closed
 * again (the server's start: a REDIS_URL that cannot be used is a mistake to report, not an outage
 * to ride out). Undefined when it answers; else why not, from the error's message only: ioredis
 * attaches a failed command's arguments (AUTH's password) to the error, never to its message.
 */
export async function probeRedis(url: string, timeoutMs = REDIS_START_TIMEOUT_MS): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let first: string | undefined;
  client.on('error', (err: Error) => { first ??= err.message; });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    return first ?? (err instanceof Error ? err.message : String(err));
  } finally {
    client.disconnect();
  }
}

export type HealthListener = (up: boolean, err: Error | undefined) => void;

export class RedisConnection {
  readonly client: Redis;
  /** For logs (no credentials). */
  readonly address: string;
  /** Whether Redis answered last time; undefined before the first answer. */
  #up: boolean | undefined;
  readonly #listeners = new Set<HealthListener>();
  #closing = false;

  constructor(url: string) {
    this.address = redisAddress(url);
    this.client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: REDIS_TIMEOUT_MS,
      commandTimeout: REDIS_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // Reconnect soon after an outage, then once a second.
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // Without a listener ioredis prints every failed reconnect; the health listeners hear of it once.
    this.client.on('error', (err: Error) => { this.#mark(false, err); });
    this.client.on('ready', () => { this.#mark(true, undefined); });
    this.client.on('close', () => { this.#mark(false, new Error('connection to Redis closed')); });
  }

  /** True while connected and answering. */
  get up(): boolean {
    return this.#up === true && this.client.status === 'ready';
  }

  /** Connects once (the server does at start); a failure is reported to the listeners, never thrown: ioredis keeps trying. */
  async connect(): Promise<void> {
    if (this.client.status !== 'wait') return;
    try {
      await this.client.connect();
    } catch (err) {
      this.#mark(false, err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Hears `up` when Redis answers again after failing (or for the first time), `down` with the error when it stops. Returns the unsubscribe. */
  onChange(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Runs `script` atomically on Redis; rejects (fast) when Redis is unreachable or errs. */
  async run(script: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      let result: unknown;
      try {
        result = await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        // A restarted (or flushed) Redis has forgotten its scripts: send it the source once.
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        result = await this.client.eval(script.source, keys.length, ...keys, ...args);
      }
      this.#mark(true, undefined);
      return result;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#mark(false, error);
      throw error;
    }
  }

  /** Whether Redis answers a PING now (readiness). */
  async ping(): Promise<boolean> {
    try {
      await this.client.ping();
      this.#mark(true, undefined);
      return true;
    } catch (err) {
      this.#mark(false, err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  close(): Promise<void> {
    this.#closing = true;
    this.#listeners.clear();
    // Only an open socket has a close to wait for; between reconnects there is none.
    const open = ['connecting', 'connect', 'ready'].includes(this.client.status);
    const ended = open ? new Promise<void>((resolve) => { this.client.once('end', () => { resolve(); }); }) : Promise.resolve();
    this.client.disconnect();
    return ended;
  }

  #mark(up: boolean, err: Error | undefined): void {
    if (this.#closing || this.#up === up) return;
    this.#up = up;
    for (const listener of this.#listeners) listener(up, err);
  }
}
