// docker-compose.yml (README "Scaling out"), checked statically: CI has no Docker engine and no
// compose plugin, so this holds what `docker compose config` would, plus what the README promises:
// several app instances behind one address, each on the shared PostgreSQL and Redis with the same
// secret, and only variables the server reads.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { CONFIG_VARIABLES } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const service = z.object({
  build: z.string().optional(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  deploy: z.object({ replicas: z.number().int() }).optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
  healthcheck: z.object({ test: z.union([z.string(), z.array(z.string())]) }).optional(),
  restart: z.string().optional(),
}).strict();
const compose = z.object({ name: z.string(), services: z.record(z.string(), service), volumes: z.record(z.string(), z.unknown()).optional() }).strict();

const file = compose.parse(parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')));
const { app, lb, postgres, redis } = file.services;

test('two app instances from this repository\'s image, each on the shared PostgreSQL and Redis', () => {
  assert.ok(app && lb && postgres && redis, 'services app, lb, postgres and redis');
  assert.equal(app.build, '.', 'the app is built from the repository\'s Dockerfile');
  assert.ok((app.deploy?.replicas ?? 1) >= 2, 'at least two instances');
  const env = app.environment ?? {};
  assert.match(env.DATABASE_URL ?? '', /^postgres:\/\/[^@]+@postgres:5432\/\w+$/, 'DATABASE_URL names the postgres service');
  assert.match(env.REDIS_URL ?? '', /^redis:\/\/redis:6379$/, 'REDIS_URL names the redis service');
  assert.match(env.SERVER_SECRET ?? '', /^\$\{SERVER_SECRET:\?.+\}$/, 'one SERVER_SECRET for all, required');
  assert.ok(env.PUBLIC_URL !== undefined, 'one public URL for all');
  assert.deepEqual(app.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  assert.equal(app.ports, undefined, 'instances are reached through the load balancer only');
});

test('the app is configured only with variables the server reads', () => {
  const unknown = Object.keys(app?.environment ?? {}).filter((k) => !CONFIG_VARIABLES.includes(k));
  assert.deepEqual(unknown, []);
});

test('one address in front: the load balancer publishes the port and proxies to every instance', () => {
  assert.deepEqual(lb?.ports, ['3000:80']);
  const mount = lb.volumes?.[0] ?? '';
  const [conf = ''] = mount.split(':');
  assert.ok(existsSync(`${ROOT}${conf}`), `the nginx configuration ${conf} exists`);
  const text = readFileSync(`${ROOT}${conf}`, 'utf8');
  assert.match(text, /server app:3000;/);
  assert.match(text, /proxy_set_header X-Forwarded-For \$remote_addr;/, 'the caller\'s address reaches the rate limits');
  assert.equal(app?.environment?.TRUST_PROXY, '1', 'the app believes exactly one proxy hop');
});

test('PostgreSQL and Redis: healthchecks, PostgreSQL\'s data on a volume, its password required', () => {
  assert.ok(postgres?.healthcheck && redis?.healthcheck);
  assert.ok(postgres.volumes?.some((v) => v.startsWith('pgdata:')));
  assert.ok(file.volumes && 'pgdata' in file.volumes);
  assert.match(postgres.environment?.POSTGRES_PASSWORD ?? '', /^\$\{POSTGRES_PASSWORD:\?.+\}$/);
  assert.match(postgres.image ?? '', /^postgres:15/, 'the PostgreSQL the tests run against');
  assert.match(redis.image ?? '', /^redis:7/, 'the Redis the tests run against');
});
