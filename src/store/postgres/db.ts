// The pg Pool a PostgreSQL store uses, with the helpers every repository shares: named prepared
// statements for the hot path, row access, UNIQUE violations (SQLSTATE 23505) as
// StoreConflictError, a lost or refused connection as DatabaseUnavailableError, and transactions
// on one pooled connection (BEGIN … COMMIT, ROLLBACK on any error, the connection always released).
import pg from 'pg';
import type { Row } from '../rows.ts';
import { DatabaseUnavailableError, StoreConflictError } from '../store.ts';

/** A statement: `name` makes it a prepared statement, parsed once per connection (the hot path). */
export interface Sql {
  name?: string;
  text: string;
  values?: unknown[];
}

/**
 * bigint (int8: our epoch-millisecond columns, count(*)) as a JS number instead of pg's default
 * string: every value we store is far below 2^53. Per pool, so pg's global parsers stay untouched.
 */
function typeParsers(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  return types;
}

/** The SQLSTATE of a PostgreSQL error, if `err` is one. */
export function sqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}

export function isUniqueViolation(err: unknown): err is pg.DatabaseError {
  return sqlState(err) === '23505';
}

/**
 * The first halves of the two-part advisory locks (ASCII tags), one per rule; the second half is
 * the hash of what the lock is about. Two-part keys never meet the one-bigint locks of migrations
 * and copy-store.
 */
export const LOCK_SPACES = {
  /** A source address's guess budget ("dcsg"). */
  guesses: 0x6463_7367,
  /** An environment's first signing key ("dcsk"). */
  firstKey: 0x6463_736b,
  /** An environment's audit outbox: one deliverer at a time keeps its events in order ("dcso"). */
  auditOutbox: 0x6463_736f,
  /**
   * An environment's outbox writes in flight: shared by each writer from its outbox rows to its
   * commit, taken alone (briefly) by a deliverer to wait for them ("dcsw", store/postgres/audit.ts).
   */
  auditOutboxWrite: 0x6463_7377,
} as const;
export type LockSpace = keyof typeof LOCK_SPACES;

/** Queries on one connection or on the pool: the same helpers inside and outside a transaction. */
export class Queries {
  readonly #on: pg.Pool | pg.PoolClient;

  constructor(on: pg.Pool | pg.PoolClient) {
    this.#on = on;
  }

  async rows(sql: Sql): Promise<Row[]> {
    try {
      const r = await this.#on.query<Row>({ ...sql, values: sql.values ?? [] });
      return r.rows;
    } catch (err) {
      throw unavailable(err);
    }
  }

  async get(sql: Sql): Promise<Row | undefined> {
    return (await this.rows(sql))[0];
  }

  async one<T>(map: (r: Row) => T, sql: Sql): Promise<T | undefined> {
    const r = await this.get(sql);
    return r === undefined ? undefined : map(r);
  }

  async all<T>(map: (r: Row) => T, sql: Sql): Promise<T[]> {
    return (await this.rows(sql)).map(map);
  }

  /** Rows changed by a write. */
  async run(sql: Sql): Promise<number> {
    try {
      const r = await this.#on.query({ ...sql, values: sql.values ?? [] });
      return r.rowCount ?? 0;
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Waits for, then holds until the transaction ends, the advisory lock of `key` in `space`: the
   * check-then-write rules that READ COMMITTED alone would let two transactions both pass. Only
   * inside PgDb.transaction (outside one, the lock would end with its own statement).
   */
  async lockUntilCommit(space: LockSpace, key: string): Promise<void> {
    await this.run({ name: 'lock_until_commit', text: 'SELECT pg_advisory_xact_lock($1::int4, hashtext($2))', values: [LOCK_SPACES[space], key] });
  }

  /** Like lockUntilCommit, but without waiting: false when another transaction holds the lock. */
  async tryLockUntilCommit(space: LockSpace, key: string): Promise<boolean> {
    const r = await this.get({
      name: 'try_lock_until_commit', text: 'SELECT pg_try_advisory_xact_lock($1::int4, hashtext($2)) AS locked', values: [LOCK_SPACES[space], key],
    });
    return r?.locked === true;
  }

  /** An INSERT whose UNIQUE violations become StoreConflictError(conflict). */
  async insert(sql: Sql, conflict: string): Promise<void> {
    try {
      await this.run(sql);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(conflict);
      throw err;
    }
  }
}

const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * The longest a statement may go unanswered. A server that stops answering without closing its
 * connections (a frozen host, a failover to another address, a network partition) would otherwise
 * hold each request, and each pooled connection, until the kernel gives up on the socket (about 15
 * minutes on Linux); then the connection is dropped, its request answers 503, and the pool opens
 * new ones. Migrations, which may legitimately run longer, use a connection of their own.
 */
export const QUERY_TIMEOUT_MS = 10_000;

export interface PgDbOptions {
  url: string;
  /** Connections the pool may open (each instance; PostgreSQL's max_connections bounds the sum). */
  poolSize: number;
}

export class PgDb extends Queries {
  readonly pool: pg.Pool;
  readonly #url: string;
  /** Audit events get an outbox row too (the webhook is configured): set once, when the store opens. */
  auditOutbox = false;
  #closed = false;

  constructor(opts: PgDbOptions) {
    // A connection that cannot be had within 10 s (server down, pool exhausted), or a statement not
    // answered within QUERY_TIMEOUT_MS, fails its request instead of hanging it; idle connections
    // are closed after 30 s, and TCP keepalives find a peer that vanished from an idle one.
    const pool = new pg.Pool({
      connectionString: opts.url, max: opts.poolSize, types: typeParsers(), idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000,
      query_timeout: QUERY_TIMEOUT_MS, keepAlive: true,
    });
    super(pool);
    this.pool = pool;
    this.#url = opts.url;
    // An idle connection that the server drops (a restart, a failover) must not crash the process:
    // the pool discards it, and the next query opens a new one or reports the failure to its caller.
    pool.on('error', () => { /* reported to the next caller instead */ });
  }

  /** A connection outside the pool, with no statement timeout (migrations); the caller ends it. */
  async unboundedClient(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#url, types: typeParsers(), connectionTimeoutMillis: 10_000, keepAlive: true });
    // As for a pooled connection: a drop while idle is reported to the next statement, not fatal.
    client.on('error', () => { /* the statement in flight, or the next, fails */ });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  /**
   * `fn` in one transaction on one connection. Rules that SQLite holds with its single writer lock
   * hold here by conditional writes and row locks (`SELECT … FOR UPDATE`) inside `fn`.
   */
  async transaction<T>(fn: (tx: Queries) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => { throw unavailable(err); });
    let broken: Error | undefined;
    // A checked-out connection that the server drops between two statements (a restart) says so
    // with an 'error' event, which unheard would end the process: it is noted here, the statement
    // in flight or the next one fails, and the connection is not given back.
    const onError = (err: Error): void => { broken = err; };
    client.on('error', onError);
    try {
      try {
        await client.query('BEGIN');
      } catch (err) {
        broken = toError(err);
        throw err;
      }
      try {
        const result = await fn(new Queries(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection lost, or a statement unanswered, cannot roll back: dropping it does (the
        // server rolls back a transaction whose connection ends), and it is not given back.
        if (isConnectionLoss(err)) {
          broken = toError(err);
          throw err;
        }
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // A connection that cannot even roll back is not given back to the pool.
          broken = toError(rollbackErr);
        }
        throw err;
      }
    } catch (err) {
      throw unavailable(err);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);
// Besides those: a socket closed under a write.
const LOST = new Set([...UNREACHABLE, 'EPIPE', 'ECONNABORTED']);
// connection_exception (class 08), too_many_connections; admin_shutdown, crash_shutdown and
// cannot_connect_now (a server stopping, restarting or starting up).
const GONE = new Set(['53300', '57P01', '57P02', '57P03']);
// pg's words for a connection that ended, could not be had in time, was already broken, or left a
// statement unanswered for QUERY_TIMEOUT_MS.
const GONE_MESSAGE = /^Connection terminated|^timeout exceeded when trying to connect|is not queryable|^Query read timeout/;

/**
 * Whether `err` means the database could not be reached or the connection was lost (nothing about
 * the statement itself): the same statement may succeed in a few seconds.
 */
export function isConnectionLoss(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof pg.DatabaseError) return err.code !== undefined && (err.code.startsWith('08') || GONE.has(err.code));
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return (code !== undefined && LOST.has(code)) || GONE_MESSAGE.test(err.message);
}

/** `err` as DatabaseUnavailableError when the connection is what failed; as it is otherwise. */
function unavailable(err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError || !isConnectionLoss(err)) return err;
  return new DatabaseUnavailableError(`the database cannot be reached: ${(err as Error).message || String((err as { code?: unknown }).code)}`, { cause: err });
}
// invalid_authorization_specification, invalid_password, invalid_catalog_name (no such database).
const REFUSED = new Set(['28000', '28P01', '3D000']);

/** Why a connection could not be made, when that is the failure (a URL to fix, a server to start); else undefined. */
export function connectionFailure(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  // An AggregateError (every address of a host refused) has the code but no message.
  if (code !== undefined && (UNREACHABLE.has(code) || REFUSED.has(code))) return err.message === '' ? code : err.message;
  // pg's own words for a server that went away during the handshake.
  if (/^Connection terminated/.test(err.message)) return err.message;
  return undefined;
}
