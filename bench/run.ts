// `npm run bench`: the performance benchmark (issue 9 §1). Not part of `npm test`.
//
// One run: three ceilings (bare Fastify; + SQLite SELECT/UPDATE; + SQLite INSERT), then the real
// server (bin/device-code-server.js serve, a child process on a seeded temporary DATA_DIR) under
// each scenario, the poll scenario again at growing numbers of live codes, and the database size
// under constant device authorization with the sweeper on. Servers run on core 0 (taskset), the
// load generator (autocannon, this process) on core 1. Prints a table and writes bench/RESULTS.md.
// The postgres phase runs device authorization and token polls again with DATABASE_URL on a
// throwaway PostgreSQL (scripts/postgres.ts; durable settings, pinned to the servers' core): one
// server process, then two on the same database with the load split between them.
//
//   node bench/run.ts [--duration 10] [--connections 50] [--warmup 2] [--codes 100000]
//                     [--growth 10000,100000[,1000000]] [--growth-rounds 3] [--sweep-duration 60] [--sweep-warp 3000]
//                     [--only ceilings,scenarios,postgres,growth,sweep] [--skip postgres,…]
//                     [--scenarios device_authorization,poll,poll_confidential,token,token_openid,cycle,refresh,userinfo,introspection,verify,veeam,rsa]
//                     [--pool-rate 4000] [--pg-pool-size 10]
//                     [--single-ceilings]      (each ceiling once, in its phase, instead of again in turns with each scenario)
//                     [--turns 5]              (how many turns a scenario and its ceiling take each)
//                     [--profile [--profile-scenarios device_authorization,poll,pg_poll,pg_device_authorization,growth]] [--no-write] [--out file]
//                     [--sqlite-cache-mb 64]   (an experiment: a bigger SQLite page cache in the server)
//                     [--sqlite-mmap-mb 1024]  (an experiment: memory-mapped reads in the server)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { POSTGRES_BIN, postgresInstalled, startPostgres } from '../scripts/postgres.ts';
import { loadConfig } from '../src/config.ts';
import { CEILING_KINDS } from './ceiling.ts';
import { cpuUsPerRequest, runInterleaved, runLoad, type ConnectionRequests, type LoadResult } from './load.ts';
import { freePort } from '../scripts/net.ts';
import { count, positive } from './args.ts';
import { buildImage } from './image.ts';
import { pinLoadGenerator, SERVER_CPU, spawnNode, TASKSET, waitReady, type Child } from './procs.ts';
import { summarise } from './profile.ts';
import {
  mainTable, postgresTable, verdicts, writeResults, type CeilingId, type GrowthPoint, type PostgresRun, type Report, type Row, type SizeSample, type SweepRun,
} from './report.ts';
import * as S from './scenarios.ts';
import { browserSecret, Seeder, type PendingCode } from './seed.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const PROFILES = path.join(ROOT, 'bench', 'profiles');
const PHASES = ['ceilings', 'scenarios', 'postgres', 'growth', 'sweep'] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    codes: { type: 'string', default: '100000' },
    growth: { type: 'string', default: '10000,100000' },
    /** How many times --duration each growth size is loaded, in turns with the other sizes. */
    'growth-rounds': { type: 'string', default: '3' },
    'sweep-duration': { type: 'string', default: '60' },
    'sweep-warp': { type: 'string', default: '3000' },
    /** One-shot items (signed-in flows) are seeded for this many requests per second of run. */
    'pool-rate': { type: 'string', default: '4000' },
    only: { type: 'string', default: PHASES.join(',') },
    /** Phases to leave out of --only's (e.g. --skip postgres). */
    skip: { type: 'string', default: '' },
    /** DATABASE_POOL_SIZE of each server process in the postgres phase (the server's default is 10). */
    'pg-pool-size': { type: 'string', default: '10' },
    /** An experiment: the real server's SQLite page cache in MB (bench/sqlite-cache.ts); 0 = SQLite's default 2 MB. */
    'sqlite-cache-mb': { type: 'string', default: '0' },
    'sqlite-mmap-mb': { type: 'string', default: '0' },
    /** Which scenarios of the scenarios phase to run (all by default). */
    scenarios: { type: 'string', default: '' },
    /**
     * Measure each scenario's ceiling once, in the ceilings phase, instead of again in turns with the
     * scenario (the ratios then divide by a measurement minutes away; shorter runs).
     */
    'single-ceilings': { type: 'boolean', default: false },
    /** How many turns a scenario and its ceiling take each (load.ts runInterleaved): --duration is split among them. */
    turns: { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
    /** With --profile: which scenarios' servers run under --cpu-prof. */
    'profile-scenarios': { type: 'string', default: 'device_authorization,poll' },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'RESULTS.md') },
  },
  strict: true,
});

const duration = positive('duration', args.duration);
const connections = count('connections', args.connections);
const warmup = Number(args.warmup);
const turns = count('turns', args.turns);
const liveCodes = count('codes', args.codes);
const growthSizes = args.growth.split(',').filter(Boolean).map((s) => count('growth', s)).sort((a, b) => a - b);
const growthRounds = count('growth-rounds', args['growth-rounds']);
const sweepDuration = positive('sweep-duration', args['sweep-duration']);
const sweepWarp = positive('sweep-warp', args['sweep-warp']);
const sqliteCacheMb = Number(args['sqlite-cache-mb']);
const sqliteMmapMb = Number(args['sqlite-mmap-mb']);
const poolRate = positive('pool-rate', args['pool-rate']);
const pgPoolSize = count('pg-pool-size', args['pg-pool-size']);
const phaseList = (name: string, v: string): Phase[] => {
  const list = v.split(',').map((x) => x.trim()).filter(Boolean) as Phase[];
  for (const p of list) if (!PHASES.includes(p)) throw new Error(`--${name}: unknown phase ${p} (${PHASES.join(', ')})`);
  return list;
};
const skipped = new Set(phaseList('skip', args.skip));
const phases = new Set(phaseList('only', args.only).filter((p) => !skipped.has(p)));

const log = (msg: string) => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`); };
const problems: string[] = [];

// ---------------------------------------------------------------------------------------------
// The real server

/** Every rate limit on, at the highest value the config accepts (1,000,000 per 60 s window). */
const LIMITS: Record<string, string> = Object.fromEntries([
  'RATE_LIMIT_DEVICE_AUTHORIZATION', 'RATE_LIMIT_TOKEN', 'RATE_LIMIT_DISCOVERY', 'RATE_LIMIT_VERIFICATION', 'RATE_LIMIT_SESSION',
  'RATE_LIMIT_ADMIN_API', 'RATE_LIMIT_DEVICE_REGISTRATION', 'RATE_LIMIT_CLIENT_AUTH_FAILURES', 'RATE_LIMIT_USERINFO',
].map((k) => [k, '1000000']));

interface ServerDir { dir: string; port: number; env: Record<string, string> }

async function serverDir(name: string, extra: Record<string, string> = {}): Promise<ServerDir> {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const env: Record<string, string> = {
    DATA_DIR: dir, HOST: '127.0.0.1', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn',
    ...LIMITS, CODE_GUESS_BUDGET: '1000', ACCOUNT_SIGN_IN_FAILURES: '1000', PASSWORD_SCRYPT_N: '16384', ...extra,
  };
  return { dir, port, env };
}

async function startServer(sd: ServerDir, opts: { profileName?: string; nodeFlags?: string[]; env?: Record<string, string> } = {}): Promise<Child> {
  // As the image runs it (its ENTRYPOINT's node options), then the scenario's own.
  const flags = [...image.nodeFlags, ...(opts.nodeFlags ?? [])];
  const extraEnv: Record<string, string> = { ...opts.env };
  if (sqliteCacheMb > 0 || sqliteMmapMb > 0) {
    flags.push('--import', image.sqliteCache);
    extraEnv.BENCH_SQLITE_CACHE_MB = String(sqliteCacheMb);
    extraEnv.BENCH_SQLITE_MMAP_MB = String(sqliteMmapMb);
  }
  if (opts.profileName !== undefined) {
    mkdirSync(PROFILES, { recursive: true });
    flags.push('--cpu-prof', '--cpu-prof-dir', PROFILES, '--cpu-prof-name', `${opts.profileName}.cpuprofile`);
  }
  // A clean environment: only what the server is meant to read, plus PATH.
  const child = spawnNode([image.bin, 'serve'], { PATH: process.env.PATH ?? '/usr/bin:/bin', ...sd.env, ...extraEnv }, flags);
  await waitReady(`http://127.0.0.1:${sd.port}/readyz`, child);
  return child;
}

async function stopServer(child: Child, what: string): Promise<void> {
  const code = await child.stop();
  if (code !== 0) problems.push(`${what}: the server exited with ${String(code)} on SIGTERM: ${child.stderrTail().slice(-500)}`);
  const warnings = child.stderrTail().trim();
  if (warnings !== '') log(`${what}: server stderr: ${warnings.slice(-400)}`);
}

/** `, 129 µs CPU/req` for a log line, when the server's CPU was measured. */
function cpuNote(r: LoadResult): string {
  const us = cpuUsPerRequest(r);
  return us === undefined ? '' : `, ${Math.round(us)} µs CPU/req`;
}

const loadOptions = (child: Child, port: number, perConnection: ConnectionRequests, seconds = duration) =>
  ({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, warmup, pid: child.pid, perConnection });

function load(child: Child, port: number, perConnection: ConnectionRequests, seconds = duration): Promise<LoadResult> {
  return runLoad(loadOptions(child, port, perConnection, seconds));
}

/** Servers loaded in turns, `turns` turns each of `duration / turns` seconds (load.ts runInterleaved). */
function interleaved(sides: [Child, number, ConnectionRequests][]): Promise<LoadResult[]> {
  return runInterleaved(sides.map(([child, port, requests]) => loadOptions(child, port, requests)), turns);
}

// ---------------------------------------------------------------------------------------------
// Phases

const CEILING_OF: Record<(typeof CEILING_KINDS)[number], { id: CeilingId; label: string }> = {
  constant: { id: 'a', label: '(a) ceiling: bare Fastify, constant JSON' },
  'select-update': { id: 'b', label: '(b) ceiling: + SQLite PK SELECT + UPDATE (100k rows)' },
  insert: { id: 'c', label: '(c) ceiling: + SQLite INSERT' },
};

interface CeilingServer { child: Child; port: number; stop(): Promise<void> }

/** A ceiling's server, in a process and directory of its own. */
async function startCeiling(kind: (typeof CEILING_KINDS)[number]): Promise<CeilingServer> {
  const dir = mkdtempSync(path.join(work, `ceiling-${kind}-`));
  const child = spawnNode([image.ceiling, kind, dir], { PATH: process.env.PATH ?? '' });
  const { port } = (await child.firstJsonLine) as { port: number };
  log(`ceiling ${kind} on :${port} (pid ${child.pid})`);
  return {
    child, port,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ceilingNote = (r: LoadResult): string => `${Math.round(r.reqPerSec)} req/s, p99 ${r.p99} ms, ${r.peakRssMb.toFixed(1)} MB${cpuNote(r)}`;

/** One run of a ceiling on its own. */
async function ceiling(kind: (typeof CEILING_KINDS)[number]): Promise<LoadResult> {
  const server = await startCeiling(kind);
  const result = await load(server.child, server.port, S.ceiling());
  await server.stop();
  log(`  ${ceilingNote(result)}`);
  return result;
}

async function ceilings(): Promise<Record<CeilingId, Row | undefined>> {
  const out: Record<CeilingId, Row | undefined> = { a: undefined, b: undefined, c: undefined };
  for (const kind of CEILING_KINDS) {
    const { id, label } = CEILING_OF[kind];
    out[id] = { id: `ceiling_${id}`, label, load: await ceiling(kind) };
  }
  return out;
}

const KIND_OF = Object.fromEntries(CEILING_KINDS.map((kind) => [CEILING_OF[kind].id, kind])) as Record<CeilingId, (typeof CEILING_KINDS)[number]>;

interface MainData {
  sd: ServerDir;
  envId: string;
  daClient: string;
  pollClient: string;
  pollCodes: PendingCode[];
  confidentialPoller: { clientId: string; secret: string; codes: PendingCode[] };
  cycleClient: string;
  cycleFlows: string[];
  verifyItems: { flowId: string; userCode: string }[];
  cookie: string;
  refreshClient: string;
  refreshChains: string[];
  /** Approved codes redeemed by their first poll, without and with `openid` (an ID token). */
  redeemClient: string;
  tokenCodes: PendingCode[];
  idTokenCodes: PendingCode[];
  /** Access tokens (scope openid profile email) of as many grants, for UserInfo and introspection. */
  accessTokens: string[];
  /** The confidential client that introspects them (a resource server). */
  resourceServer: { clientId: string; secret: string };
  sessions: string[];
  adminJwt: string;
  rsaUsers: string[];
}

/** Grants (one access token each) seeded for the userinfo and introspection scenarios, and the users they are spread over. */
const TOKEN_GRANTS = 10_000;
const TOKEN_USERS = 1_000;

/** Seeds what the selected scenarios use (everything when all run); the rest stays empty. */
async function seedMain(): Promise<MainData> {
  const sd = await serverDir('main');
  const t0 = performance.now();
  const seeder = await Seeder.open(loadConfig(sd.env));
  const wanted = (...ids: string[]) => ids.some((id) => SELECTED.some((d) => d.id === id));
  try {
    const envId = seeder.env.id;
    const pool = Math.ceil(poolRate * (duration + warmup));
    const da = await seeder.client({ name: 'Bench TV' });
    const pollClient = await seeder.client({ name: 'Bench poller', codeLifetime: 3600 });
    const verifyClient = await seeder.client({ name: 'Bench verify', codeLifetime: 3600 });
    const cycleClient = await seeder.client({ name: 'Bench cycle' });
    const refreshClient = await seeder.client({ name: 'Bench CLI', refreshTokens: true });
    const tokenClient = await seeder.client({ name: 'Bench app' });
    const resourceServer = await seeder.confidentialClient({ name: 'Bench resource server' });
    const [approver] = await seeder.users('approver', 1);
    if (!approver) throw new Error('no approver');
    let pollCodes: PendingCode[] = [];
    if (wanted('poll')) {
      log(`seeding ${liveCodes.toLocaleString()} pending codes to poll`);
      pollCodes = await seeder.pendingCodes(pollClient, liveCodes);
    }
    const backend = await seeder.confidentialClient({ name: 'Bench confidential poller', codeLifetime: 3600 });
    let confidentialCodes: PendingCode[] = [];
    if (wanted('poll_confidential')) {
      log(`seeding ${liveCodes.toLocaleString()} pending codes of a confidential client to poll`);
      confidentialCodes = await seeder.pendingCodes(backend.client, liveCodes);
    }
    const cookie = browserSecret();
    let verifyItems: MainData['verifyItems'] = [];
    if (wanted('verify')) {
      log(`seeding ${pool.toLocaleString()} signed-in flows with as many pending codes (verify)`);
      const verifyCodes = await seeder.pendingCodes(verifyClient, pool);
      const verifyFlows = await seeder.signedInFlows(approver, cookie, pool);
      verifyItems = verifyFlows.map((flowId, i) => ({ flowId, userCode: verifyCodes[i]?.userCode ?? '' }));
    }
    let cycleFlows: string[] = [];
    if (wanted('cycle')) {
      log(`seeding ${pool.toLocaleString()} signed-in flows (cycle)`);
      cycleFlows = await seeder.signedInFlows(approver, cookie, pool);
    }
    // A chain per connection for the warm-up and for every turn (a turn's connections start afresh,
    // and the end of a turn can cut off a rotation's answer, which breaks that chain), and spares.
    const refreshChains = wanted('refresh') ? await seeder.refreshChains(refreshClient, approver, connections * (turns + 3)) : [];
    const redeemClient = await seeder.client({ name: 'Bench redeemer', codeLifetime: 3600 });
    let tokenCodes: PendingCode[] = [];
    let idTokenCodes: PendingCode[] = [];
    if (wanted('token', 'token_openid')) {
      log(`seeding ${pool.toLocaleString()} approved codes for each of token and token_openid`);
      if (wanted('token')) tokenCodes = await seeder.approvedCodes(redeemClient, approver, 'profile email', pool);
      if (wanted('token_openid')) idTokenCodes = await seeder.approvedCodes(redeemClient, approver, 'openid profile email', pool);
    }
    let accessTokens: string[] = [];
    if (wanted('userinfo', 'introspection')) {
      log(`seeding ${TOKEN_GRANTS.toLocaleString()} grants of ${TOKEN_USERS.toLocaleString()} users with an access token each (userinfo, introspection)`);
      const people = await seeder.users('person', TOKEN_USERS);
      accessTokens = await seeder.accessTokens(tokenClient, people, 'openid profile email', TOKEN_GRANTS);
    }
    const sessions = wanted('veeam') ? await seeder.sessionTokens(await seeder.users('veeam', connections)) : [];
    const rsaUsers = wanted('rsa') ? (await seeder.users('rsa', 10_000)).map((u) => u.username) : [];
    const adminJwt = await seeder.adminJwt();
    log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return {
      sd, envId, daClient: da.clientId, pollClient: pollClient.clientId, pollCodes,
      confidentialPoller: { clientId: backend.client.clientId, secret: backend.secret, codes: confidentialCodes }, cycleClient: cycleClient.clientId, cycleFlows,
      verifyItems, cookie, refreshClient: refreshClient.clientId, refreshChains, redeemClient: redeemClient.clientId, tokenCodes, idTokenCodes,
      accessTokens, resourceServer: { clientId: resourceServer.client.clientId, secret: resourceServer.secret },
      sessions, adminJwt, rsaUsers,
    };
  } finally {
    await seeder.close();
  }
}

interface ScenarioDef {
  id: string;
  label: string;
  ceiling: CeilingId;
  make(m: MainData): { requests: ConnectionRequests; after?: (r: LoadResult) => Pick<Row, 'unit' | 'note'> };
}

const SCENARIOS: ScenarioDef[] = [
  { id: 'device_authorization', label: 'device authorization (POST /oauth/device_authorization)', ceiling: 'c',
    make: (m) => ({ requests: S.deviceAuthorization(m.daClient) }) },
  { id: 'poll', label: 'token polls, pending codes at random', ceiling: 'b',
    make: (m) => ({ requests: S.poll(m.pollCodes, m.pollClient) }) },
  { id: 'poll_confidential', label: 'token polls by a confidential client (client_secret_basic)', ceiling: 'b',
    make: (m) => ({ requests: S.poll(m.confidentialPoller.codes, m.confidentialPoller.clientId, m.confidentialPoller.secret) }) },
  { id: 'token', label: 'token-issuing polls: approved codes redeemed, scope profile email (an access token)', ceiling: 'b',
    make: (m) => ({ requests: S.redeem(new S.Pool(m.tokenCodes), m.redeemClient) }) },
  { id: 'token_openid', label: 'token-issuing polls: approved codes redeemed, scope openid profile email (access and ID token)', ceiling: 'b',
    make: (m) => ({ requests: S.redeem(new S.Pool(m.idTokenCodes), m.redeemClient) }) },
  { id: 'cycle', label: 'full cycle: authorize → verify → consent → token', ceiling: 'a',
    make: (m) => ({
      requests: S.cycle(m.envId, m.cycleClient, new S.Pool(m.cycleFlows), m.cookie),
      after: (r) => ({ unit: { name: 'cycles/s', perSec: (r.mix['token 200'] ?? 0) / r.seconds }, note: 'req/s counts all four requests of a cycle' }),
    }) },
  { id: 'refresh', label: 'refresh_token grant with rotation', ceiling: 'b',
    make: (m) => ({ requests: S.refresh(m.refreshClient, new S.Pool(m.refreshChains)) }) },
  { id: 'userinfo', label: `UserInfo (GET /oauth/userinfo, Bearer access tokens of ${TOKEN_GRANTS.toLocaleString('en-US')} grants)`, ceiling: 'b',
    make: (m) => ({ requests: S.userInfo(m.accessTokens) }) },
  { id: 'introspection', label: `introspection (POST /oauth/introspect, client_secret_basic, access tokens of ${TOKEN_GRANTS.toLocaleString('en-US')} grants)`, ceiling: 'b',
    make: (m) => ({ requests: S.introspection(m.accessTokens, m.resourceServer.clientId, m.resourceServer.secret) }) },
  { id: 'verify', label: 'flow API verify step (userCode.verify)', ceiling: 'a',
    make: (m) => ({ requests: S.verify(m.envId, new S.Pool(m.verifyItems), m.cookie) }) },
  { id: 'veeam', label: 'Veeam GET getDeviceCode (session token)', ceiling: 'a',
    make: (m) => ({ requests: S.veeam(m.sessions) }) },
  { id: 'rsa', label: 'RSA POST deviceRegistrationCode (admin JWT, 10k users)', ceiling: 'a',
    make: (m) => ({ requests: S.rsa(m.adminJwt, m.rsaUsers) }) },
];

const PROFILED = new Set(args['profile-scenarios'].split(',').map((x) => x.trim()));
const ASKED = args.scenarios.split(',').map((x) => x.trim()).filter(Boolean);
for (const id of ASKED) if (!SCENARIOS.some((d) => d.id === id)) throw new Error(`--scenarios: unknown scenario ${id} (${SCENARIOS.map((d) => d.id).join(', ')})`);
const SELECTED = ASKED.length === 0 ? SCENARIOS : SCENARIOS.filter((d) => ASKED.includes(d.id));

/** Adds the summary of the profile `profileName` to `profiles`, as `scenario`'s. */
function addProfile(scenario: string, profileName: string, result: LoadResult, profiles: Report['profiles']): void {
  const file = path.join(PROFILES, `${profileName}.cpuprofile`);
  try {
    profiles.push({ scenario, summary: summarise(file, result.windowUs) });
  } catch (err) {
    problems.push(`${scenario}: no profile at ${file}: ${String(err)}`);
  }
}

/** Notes on the row that its server was profiled, and adds the profile's summary to `profiles`. */
function profiled(row: Row, profileName: string, result: LoadResult, profiles: Report['profiles']): void {
  row.note = [row.note, 'profiled with --cpu-prof (slightly slower)'].filter(Boolean).join('; ');
  addProfile(row.id, profileName, result, profiles);
}

/**
 * Scenarios that a target compares with each other (confidential against public polls, a token
 * with an ID token against one without) run in turns with each other as well as with one ceiling,
 * so that the comparison is of the same seconds. Two servers cannot share a data directory, so each
 * runs on a copy of the seeded one: the original and a fresh copy measured ~5 % apart.
 */
const TOGETHER: [string, string][] = [['poll', 'poll_confidential'], ['token', 'token_openid']];

/** The selected scenarios in order, those of TOGETHER paired when both are selected (and ceilings run beside them). */
function groups(): ScenarioDef[][] {
  const out: ScenarioDef[][] = [];
  const taken = new Set<string>();
  for (const def of SELECTED) {
    if (taken.has(def.id)) continue;
    const mate = args['single-ceilings'] ? undefined : TOGETHER.find(([first]) => first === def.id)?.[1];
    const second = SELECTED.find((d) => d.id === mate);
    if (second !== undefined) taken.add(second.id);
    out.push(second === undefined ? [def] : [def, second]);
  }
  return out;
}

/** A copy of `sd`'s files (its database, its secret) in a directory and on a port of its own. */
async function copyOf(sd: ServerDir, name: string): Promise<ServerDir> {
  const copy = await serverDir(name);
  cpSync(sd.dir, copy.dir, { recursive: true });
  // The copy's pages written back now, not by the kernel while the copy is being measured.
  execFileSync('sync');
  return copy;
}

async function scenarios(m: MainData): Promise<{ rows: Row[]; profiles: Report['profiles'] }> {
  const rows: Row[] = [];
  const profiles: Report['profiles'] = [];
  for (const group of groups()) {
    const first = group[0];
    if (first === undefined) continue;
    // Its ceiling again, in turns with it (load.ts runInterleaved): the machine's drift then moves
    // both sides of the ratio alike.
    const beside = args['single-ceilings'] ? undefined : await startCeiling(KIND_OF[first.ceiling]);
    // A pair's two servers each start from a fresh copy of the seeded database, made while no
    // server runs on the original (the codes each polls or redeems are its own).
    const copies: ServerDir[] = [];
    if (group.length > 1) for (const def of group) copies.push(await copyOf(m.sd, `${def.id}-copy`));
    const runs: { def: ScenarioDef; sd: ServerDir; child: Child; profileName?: string; made: ReturnType<ScenarioDef['make']> }[] = [];
    for (const [i, def] of group.entries()) {
      const sd = copies[i] ?? m.sd;
      // A fresh server process per scenario: its peak RSS is this scenario's, like each ceiling's.
      const profileName = args.profile && PROFILED.has(def.id) ? `server-${def.id}` : undefined;
      const child = await startServer(sd, profileName === undefined ? {} : { profileName });
      log(`${def.id} (server pid ${child.pid}${profileName === undefined ? '' : ', profiling'})`);
      runs.push({ def, sd, child, ...(profileName === undefined ? {} : { profileName }), made: def.make(m) });
    }
    let results: LoadResult[];
    let paired: LoadResult | undefined;
    if (beside === undefined) {
      results = [];
      for (const r of runs) results.push(await load(r.child, r.sd.port, r.made.requests));
    } else {
      [paired, ...results] = await interleaved([[beside.child, beside.port, S.ceiling()], ...runs.map((r) => [r.child, r.sd.port, r.made.requests] as [Child, number, ConnectionRequests])]);
      await beside.stop();
      log(`  ${group.length > 1 ? `${group.map((d) => d.id).join(' and ')} in turns with each other and their` : 'its'} ceiling: ${ceilingNote(paired as LoadResult)}`);
    }
    for (const [i, r] of runs.entries()) {
      const result = results[i];
      if (result === undefined) throw new Error(`${r.def.id}: no result`);
      await stopServer(r.child, r.def.id);
      if (r.sd !== m.sd) rmSync(r.sd.dir, { recursive: true, force: true });
      const row: Row = { id: r.def.id, label: r.def.label, ceiling: r.def.ceiling, load: result, ...(paired === undefined ? {} : { paired }), ...r.made.after?.(result) };
      if (r.profileName !== undefined) profiled(row, r.profileName, result, profiles);
      rows.push(row);
      log(`  ${r.def.id}: ${Math.round(result.reqPerSec)} req/s, p50 ${result.p50} ms, p90 ${result.p90} ms, p99 ${result.p99} ms, max ${result.max} ms, ${result.peakRssMb.toFixed(1)} MB${cpuNote(result)}; ${JSON.stringify(result.mix)}`);
      if (result.errors > 0) problems.push(`${r.def.id}: ${result.errors} connection errors (${result.timeouts} timeouts)`);
    }
  }
  return { rows, profiles };
}

/** Sums the runs of parallel load generators (one per server process) into one result: req/s added, latencies the worst. */
function combined(results: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const worst = (f: (r: LoadResult) => number) => Math.max(...results.map(f));
  const mix: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.mix)) mix[k] = (mix[k] ?? 0) + v;
  const exhausted = results.map((r) => r.exhausted).filter((x) => x !== undefined);
  const out: LoadResult = {
    reqPerSec: sum((r) => r.reqPerSec), responses: sum((r) => r.responses), seconds: worst((r) => r.seconds),
    p50: worst((r) => r.p50), p90: worst((r) => r.p90), p99: worst((r) => r.p99), max: worst((r) => r.max),
    errors: sum((r) => r.errors), timeouts: sum((r) => r.timeouts), non2xx: sum((r) => r.non2xx), peakRssMb: worst((r) => r.peakRssMb),
    mix: Object.fromEntries(Object.entries(mix).sort((a, b) => b[1] - a[1])),
    windowUs: [Math.min(...results.map((r) => r.windowUs[0])), Math.max(...results.map((r) => r.windowUs[1]))],
  };
  if (results.every((r) => r.cpuSeconds !== undefined)) out.cpuSeconds = sum((r) => r.cpuSeconds ?? 0);
  if (exhausted.length > 0) out.exhausted = exhausted.join('; ');
  return out;
}

const PG_SCENARIOS = SCENARIOS.filter((d) => d.id === 'device_authorization' || d.id === 'poll')
  .filter((d) => ASKED.length === 0 || ASKED.includes(d.id));

/**
 * Device authorization and token polls with DATABASE_URL: a throwaway PostgreSQL (durable: fsync,
 * synchronous_commit and full_page_writes on), pinned to the servers' core so that the server side
 * has one core as with SQLite; one server process, then two on the same database, each process its
 * own DATA_DIR and port and the same SERVER_SECRET, each fed half the connections by its own
 * autocannon instance (in parallel, in this process). No Redis: each process counts its own rate
 * limits (all at the config's maximum anyway).
 */
async function postgresPhase(profiles: Report['profiles']): Promise<PostgresRun> {
  if (!postgresInstalled()) {
    const why = `no ${POSTGRES_BIN}/postgres (bash scripts/ensure-debian-packages.sh installs PostgreSQL 15)`;
    log(`postgres: skipped: ${why}`);
    return { skipped: why, settings: '', poolSize: pgPoolSize, codes: 0, seedSeconds: 0, rows: [] };
  }
  const launcher = TASKSET === undefined ? [] : [TASKSET, '-c', SERVER_CPU];
  // The phases before leave dirty pages of their SQLite files for the kernel to write back; a
  // durable PostgreSQL's WAL flushes would queue behind them, and its numbers with them.
  execFileSync('sync');
  const pg = await startPostgres({ durable: true, launcher });
  try {
    const settings = `PostgreSQL 15 (${POSTGRES_BIN}), ${pg.settings}, other settings initdb's defaults${launcher.length > 0 ? `; its processes pinned to CPU ${SERVER_CPU} with the servers (\`taskset -c ${SERVER_CPU}\`)` : ''}`;
    log(`postgres: ${settings}`);
    const url = await pg.database();
    const shared = { DATABASE_URL: url, DATABASE_POOL_SIZE: String(pgPoolSize), SERVER_SECRET: randomBytes(32).toString('base64url') };
    const sds = [await serverDir('pg-1', shared), await serverDir('pg-2', shared)] as const;
    const t0 = performance.now();
    // The seeder's own sessions commit without waiting for the WAL flush (synchronous_commit=off,
    // set per connection): seeding is not measured, and the servers' sessions keep the server's setting.
    const seedEnv = { ...sds[0].env, DATABASE_URL: `${url}?options=${encodeURIComponent('-c synchronous_commit=off')}`, DATABASE_POOL_SIZE: '16' };
    const seeder = await Seeder.open(loadConfig(seedEnv));
    let m: Pick<MainData, 'daClient' | 'pollClient' | 'pollCodes'>;
    try {
      const da = await seeder.client({ name: 'Bench TV' });
      const pollClient = await seeder.client({ name: 'Bench poller', codeLifetime: 3600 });
      log(`postgres: seeding ${liveCodes.toLocaleString()} pending codes to poll`);
      m = { daClient: da.clientId, pollClient: pollClient.clientId, pollCodes: await seeder.pendingCodes(pollClient, liveCodes) };
    } finally {
      await seeder.close();
    }
    const seedSeconds = (performance.now() - t0) / 1000;
    log(`postgres: seeded in ${seedSeconds.toFixed(1)} s`);
    const ceiling = await postgresCeiling(await pg.database());
    const rows: Row[] = [];
    for (const def of PG_SCENARIOS) {
      // The SQLite scenarios' MainData has more in it; these two scenarios read only what is here.
      const made = def.make(m as MainData);
      for (const n of [1, 2]) {
        const children: Child[] = [];
        // `--profile --profile-scenarios pg_poll` (or pg_device_authorization) profiles the one-process run.
        const profileName = args.profile && n === 1 && PROFILED.has(`pg_${def.id}`) ? `server-pg_${def.id}` : undefined;
        try {
          for (const sd of sds.slice(0, n)) children.push(await startServer(sd, profileName === undefined ? {} : { profileName }));
          log(`postgres ${def.id}, ${n} process${n > 1 ? 'es' : ''} (pids ${children.map((c) => c.pid).join(', ')})`);
          const split = n === 1 ? [connections] : [Math.ceil(connections / 2), Math.floor(connections / 2)];
          const results = await Promise.all(children.map((c, i) => runLoad({
            url: `http://127.0.0.1:${sds[i]?.port ?? 0}`, connections: split[i] ?? 1, duration, warmup, pid: c.pid, perConnection: made.requests,
          })));
          const load = combined(results);
          const label = `${def.label}, PostgreSQL, ${n === 1 ? 'one process' : 'two processes'}`;
          const row: Row = { id: `pg${n}_${def.id}`, label, ceiling: def.ceiling, load, processes: results.map((r, i) => ({ reqPerSec: r.reqPerSec, peakRssMb: r.peakRssMb, connections: split[i] ?? 0 })) };
          rows.push(row);
          log(`  ${Math.round(load.reqPerSec)} req/s${n > 1 ? ` (${results.map((r) => Math.round(r.reqPerSec)).join(' + ')})` : ''}, p50 ${load.p50} ms, p99 ${load.p99} ms, max ${load.max} ms, RSS ${results.map((r) => r.peakRssMb.toFixed(1)).join(' / ')} MB; ${JSON.stringify(load.mix)}`);
          if (load.errors > 0) problems.push(`${row.id}: ${load.errors} connection errors (${load.timeouts} timeouts)`);
        } finally {
          for (const [i, c] of children.entries()) await stopServer(c, `postgres ${def.id} (process ${i + 1} of ${n})`);
        }
        // The profile is written when its server exits.
        const row = rows.find((r) => r.id === `pg${n}_${def.id}`);
        if (profileName !== undefined && row) profiled(row, profileName, row.load, profiles);
      }
    }
    return { settings, poolSize: pgPoolSize, codes: liveCodes, seedSeconds, ceiling, rows };
  } finally {
    await pg.stop();
  }
}

/**
 * The least a poll can cost on this PostgreSQL: bare Fastify and one UPDATE … RETURNING of a random
 * row among 100k per request (bench/ceiling.ts `pg-update`), pinned and pooled like the servers, on
 * a database of its own. Our poll is that statement plus the client's lookup, so this bounds what
 * any change to our PostgreSQL poll can reach on this machine.
 */
async function postgresCeiling(url: string): Promise<Row> {
  const dir = path.join(work, 'ceiling-pg-update');
  mkdirSync(dir, { recursive: true });
  const child = spawnNode([image.ceiling, 'pg-update', dir], { PATH: process.env.PATH ?? '', DATABASE_URL: url, DATABASE_POOL_SIZE: String(pgPoolSize) });
  const { port } = (await child.firstJsonLine) as { port: number };
  log(`postgres: ceiling pg-update on :${port} (pid ${child.pid})`);
  const result = await load(child, port, S.ceiling());
  await child.stop();
  log(`  ${Math.round(result.reqPerSec)} req/s, p99 ${result.p99} ms, ${result.peakRssMb.toFixed(1)} MB${cpuNote(result)}`);
  return { id: 'ceiling_pg', label: '(b-pg) ceiling: bare Fastify + one PostgreSQL UPDATE … RETURNING (100k rows, pool of the same size, commit not waiting for the flush)', load: result };
}

/**
 * Polls against 10k, 100k, … live codes. Each size has a database and a server of its own, seeded
 * once; the servers then take turns (load.ts runInterleaved), each loaded `growthRounds` times
 * --duration in all, in `growthRounds × turns` turns. On a shared machine a run per size, one after
 * the other, measures the machine's drift between them as much as the table's size.
 * With `--profile --profile-scenarios growth`, every size's server is profiled (growth-<codes>).
 */
async function growth(profiles: Report['profiles']): Promise<GrowthPoint[]> {
  const sizes: { size: number; sd: ServerDir; codes: PendingCode[]; clientId: string; seedSeconds: number }[] = [];
  for (const size of growthSizes) {
    const t0 = performance.now();
    const sd = await serverDir(`growth-${size}`);
    const seeder = await Seeder.open(loadConfig(sd.env));
    try {
      const client = await seeder.client({ name: 'Bench poller', codeLifetime: 3600 });
      log(`growth: seeding ${size.toLocaleString()} codes`);
      const codes = await seeder.pendingCodes(client, size);
      const seedSeconds = (performance.now() - t0) / 1000;
      log(`growth: seeded ${size.toLocaleString()} codes in ${seedSeconds.toFixed(1)} s`);
      sizes.push({ size, sd, codes, clientId: client.clientId, seedSeconds });
    } finally {
      await seeder.close();
    }
  }
  // Seeding may leave the new files' pages (~750 MB at 1M codes) for the kernel to write back while
  // the first rounds run; as before the postgres phase, a sync removes that variable (it took 0.0 s
  // in the runs of bench/RESULTS.md, the writeback done by then).
  const t0 = performance.now();
  execFileSync('sync');
  log(`growth: sync after seeding took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const profileOf = (size: number) => (args.profile && PROFILED.has('growth') ? `growth-${size}` : undefined);
  const children: Child[] = [];
  let results: LoadResult[];
  try {
    for (const g of sizes) {
      const profileName = profileOf(g.size);
      children.push(await startServer(g.sd, profileName === undefined ? {} : { profileName }));
    }
    log(`growth: ${sizes.length} servers in ${growthRounds * turns} turns each of ${(duration / turns).toFixed(1)} s`);
    results = await runInterleaved(sizes.map((g, i) => loadOptions(children[i] as Child, g.sd.port, S.poll(g.codes, g.clientId), duration * growthRounds)), growthRounds * turns);
  } finally {
    // A profile is written when its server exits.
    for (const [i, child] of children.entries()) await stopServer(child, `growth ${sizes[i]?.size ?? ''}`);
  }
  return sizes.map((g, i) => {
    const result = results[i];
    if (result === undefined) throw new Error(`growth: no run of ${g.size}`);
    const profileName = profileOf(g.size);
    if (profileName !== undefined) addProfile(`${profileName} (profiled, slightly slower)`, profileName, result, profiles);
    log(`  ${g.size.toLocaleString()} codes: ${Math.round(result.reqPerSec)} req/s, p99 ${result.p99} ms${cpuNote(result)}`);
    return { codes: g.size, load: result, seedSeconds: g.seedSeconds };
  });
}

function fileMb(file: string): number {
  try {
    return statSync(file).size / 2 ** 20;
  } catch {
    return 0;
  }
}

async function sweep(): Promise<SweepRun> {
  const interval = 1;
  const lifetime = 5;
  // Each device authorization is also an audit event (device.requested), kept AUDIT_RETENTION_DAYS:
  // its shortest, one day, which the default warp makes 28.8 s of the run.
  const auditRetentionDays = 1;
  const sd = await serverDir('sweep', { SWEEP_INTERVAL_SECONDS: String(interval), AUDIT_RETENTION_DAYS: String(auditRetentionDays) });
  const seeder = await Seeder.open(loadConfig(sd.env));
  let clientId: string;
  try {
    clientId = (await seeder.client({ name: 'Bench short-lived', codeLifetime: lifetime })).clientId;
  } finally {
    await seeder.close();
  }
  const dbFile = path.join(sd.dir, 'device-code-server.db');
  const child = await startServer(sd, { nodeFlags: ['--import', path.join(ROOT, 'bench', 'time-warp.ts')], env: { BENCH_TIME_WARP: String(sweepWarp) } });
  log(`sweep: ${sweepDuration} s of device authorization, codes of ${lifetime} s, server clock ×${sweepWarp} (pid ${child.pid})`);
  const ro = new Database(dbFile, { readonly: true, fileMustExist: true });
  const samples: SizeSample[] = [];
  const started = performance.now();
  const sample = () => {
    const realSeconds = (performance.now() - started) / 1000;
    const rows = (ro.prepare('SELECT count(*) AS n FROM device_authorizations').get() as { n: number }).n;
    const auditRows = (ro.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
    const pages = ro.pragma('page_count', { simple: true }) as number;
    const freePages = ro.pragma('freelist_count', { simple: true }) as number;
    samples.push({ realSeconds, virtualSeconds: realSeconds * sweepWarp, dbMb: fileMb(dbFile), walMb: fileMb(`${dbFile}-wal`), rows, auditRows, pages, freePages });
  };
  sample();
  const timer = setInterval(sample, 1000);
  let result: LoadResult;
  try {
    result = await runLoad({ url: `http://127.0.0.1:${sd.port}`, connections, duration: sweepDuration, warmup: 0, pid: child.pid, perConnection: S.deviceAuthorization(clientId) });
  } finally {
    clearInterval(timer);
  }
  sample();
  ro.close();
  await stopServer(child, 'sweep');
  return { warp: sweepWarp, codeLifetime: lifetime, sweepInterval: interval, auditRetentionSeconds: auditRetentionDays * 86_400, load: result, samples };
}

// ---------------------------------------------------------------------------------------------

function machine(): Omit<Report['machine'], 'loadAfter'> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  // Before pinning: nproc and availableParallelism count the cores this process may use.
  const nproc = availableParallelism();
  const pinned = pinLoadGenerator()
    ? 'servers on CPU 0 (`taskset -c 0`), load generator on CPU 1 (`taskset -a -p -c 1`)'
    : 'none (taskset missing or a single core): servers and load generator share the cores';
  return {
    nproc,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU',
    ramGb: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) / 2 ** 20,
    node: process.version,
    pinned,
    loadBefore: loadavg(),
  };
}

function commandLine(): string {
  const argv = process.argv.slice(2);
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  return ['node bench/run.ts', ...argv].join(' ');
}

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`bench: needs Node 22.18+ (run it with npm run bench, which uses the pinned Node 24); this is ${process.version}\n`);
  process.exit(1);
}

const wallStart = performance.now();
const date = new Date().toISOString();
const m0 = machine();
log(`${m0.nproc} cores, ${m0.cpu}, Node ${m0.node}; ${m0.pinned}; load average ${m0.loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
if (TASKSET === undefined) problems.push('taskset is not available: servers and load generator were not pinned to separate cores');
const work = mkdtempSync(path.join(tmpdir(), 'dcs-bench-'));
// What runs is what the Docker image runs: src/ built to JavaScript (bench/image.ts).
const image = buildImage(path.join(work, 'image'));
const report: Report = {
  date, command: commandLine(), machine: { ...m0, loadAfter: [] },
  options: { duration, connections, warmup, codes: liveCodes, growth: growthSizes.join(','), 'growth-rounds': growthRounds, 'sweep-duration': sweepDuration, 'sweep-warp': sweepWarp, 'pool-rate': poolRate, ...(args['single-ceilings'] ? { 'single-ceilings': true } : { turns }), ...(phases.has('postgres') ? { 'pg-pool-size': pgPoolSize } : {}), profile: args.profile, ...(sqliteCacheMb > 0 ? { 'sqlite-cache-mb': sqliteCacheMb } : {}), ...(sqliteMmapMb > 0 ? { 'sqlite-mmap-mb': sqliteMmapMb } : {}) },
  ceilings: { a: undefined, b: undefined, c: undefined }, scenarios: [], growth: [], profiles: [], wallSeconds: 0, problems,
};
try {
  if (phases.has('ceilings')) report.ceilings = await ceilings();
  if (phases.has('scenarios')) {
    const m = await seedMain();
    const r = await scenarios(m);
    report.scenarios = r.rows;
    report.profiles = r.profiles;
  }
  if (phases.has('postgres')) report.postgres = await postgresPhase(report.profiles);
  if (phases.has('growth')) report.growth = await growth(report.profiles);
  if (phases.has('sweep')) report.sweep = await sweep();
} finally {
  rmSync(work, { recursive: true, force: true });
}
report.machine.loadAfter = loadavg();
report.wallSeconds = (performance.now() - wallStart) / 1000;

if (Object.values(report.ceilings).some((r) => r !== undefined) || report.scenarios.length > 0) process.stdout.write(`\n${mainTable(report)}\n\n`);
if (report.postgres) process.stdout.write(`\n${postgresTable(report)}\n\n`);
for (const v of verdicts(report)) process.stdout.write(`${v.met === undefined ? '·' : v.met ? '✓' : '✗'} ${v.target}: ${v.measured}\n`);
for (const p of problems) process.stdout.write(`! ${p}\n`);
if (!args['no-write']) {
  writeResults(args.out, report);
  log(`wrote ${path.relative(process.cwd(), args.out)}`);
}
