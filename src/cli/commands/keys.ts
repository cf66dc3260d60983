// `keys rotate|list`: the environments' token-signing keys. A rotation makes a new active
// key at once; the old one stays in the JWKS until no token it can have signed is still valid.
import { ref } from '../../core/audit.ts';
import { KEY_ALGS } from '../../crypto/keys.ts';
import type { SigningKeyRecord } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { ENV_FLAG, JSON_FLAG, UsageError, type CommandSpec } from '../args.ts';
import { safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

/**
 * How long another process (the running server) may keep signing with a key it loaded: CACHE_MS in
 * core/key-ring.ts, which is not exported. Keep the two equal.
 */
export const KEY_CACHE_SECONDS = 60;


const iso = (ms: number): string => new Date(ms).toISOString();

function keyJson(key: SigningKeyRecord): Record<string, unknown> {
  return {
    kid: key.kid,
    environment_id: key.envId,
    alg: key.alg,
    status: key.status,
    created_at: iso(key.createdAt),
    retired_until: key.retiredUntil === null ? null : iso(key.retiredUntil),
  };
}

/**
 * How long a retired key stays published: the longest lifetime of a token the environment issues
 * (its clients' access tokens, session tokens), plus the time a running server may still sign with
 * the old key (its key cache), plus the clock skew verifiers allow past `exp`.
 */
export async function retentionSeconds(services: Services, envId: string): Promise<number> {
  const clients = await services.store.clients.list(envId);
  const longest = Math.max(services.config.sessionTokenLifetimeSeconds, ...clients.map((c) => c.tokenLifetime));
  return longest + KEY_CACHE_SECONDS + services.config.jwtClockToleranceSeconds;
}

export const keysRotate: CommandSpec = {
  path: ['keys', 'rotate'],
  summary: 'Make a new signing key active; the old one is retired and later leaves the JWKS.',
  details: [
    'The new key signs every token from now on; other processes (a running server) switch to it',
    `within ${KEY_CACHE_SECONDS} s. The old key stays in the JWKS, so the tokens it signed keep verifying, until the`,
    'last of them can have expired: now + the longest token lifetime of the environment (the largest',
    `client --token-lifetime, or SESSION_TOKEN_LIFETIME_SECONDS if longer) + ${KEY_CACHE_SECONDS} s (the other processes'`,
    'key cache) + JWT_CLOCK_TOLERANCE_SECONDS. Then it leaves the JWKS, and `sweep` deletes it.',
  ].join('\n'),
  flags: {
    alg: { type: 'string', placeholder: KEY_ALGS.join('|'), description: 'Algorithm of the new key (default ES256)' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const raw = args.string('alg') ?? 'ES256';
    const alg = KEY_ALGS.find((a) => a === raw);
    if (alg === undefined) throw new UsageError(`${args.command}: --alg must be ${KEY_ALGS.join(' or ')}, got "${raw}"`, args.command);
    return withEnvironment(args, io, async (services, env) => {
      const retention = await retentionSeconds(services, env.id);
      const before = await services.store.signingKeys.list(env.id);
      const kid = await services.keys.rotate(env.id, alg, retention, (k) => [services.audit.event({
        envId: k.envId, type: 'key.rotated', actor: ref.cli, subject: ref.key(k.kid), details: { alg: k.alg, previous_retained_seconds: retention },
      })]);
      const after = await services.store.signingKeys.list(env.id);
      // The keys this rotation retired: active before, retired now (earlier retirees keep their date).
      const wasActive = new Set(before.filter((k) => k.status === 'active').map((k) => k.kid));
      const retired = after.filter((k) => k.status === 'retired' && wasActive.has(k.kid));
      return {
        json: {
          environment_id: env.id,
          kid,
          alg,
          retention_seconds: retention,
          retired: retired.map((k) => ({ kid: k.kid, retired_until: k.retiredUntil === null ? null : iso(k.retiredUntil) })),
        },
        text: [
          `New ${alg} signing key ${kid} is active in environment ${safe(env.name)}.`,
          ...retired.map((k) => `Retired ${k.kid}: in the JWKS until ${k.retiredUntil === null ? '?' : iso(k.retiredUntil)} (${retention} s).`),
          `A running server signs with the new key within ${KEY_CACHE_SECONDS} s.`,
        ],
      };
    });
  },
};

export const keysList: CommandSpec = {
  path: ['keys', 'list'],
  summary: 'List the signing keys of an environment (active and retired).',
  details: 'A retired key is in the JWKS until its RETIRED_UNTIL time; `sweep` deletes it after that.',
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const keys = await services.store.signingKeys.list(env.id);
      return {
        json: { keys: keys.map(keyJson) },
        text: keys.length === 0
          ? [`No signing keys in environment ${safe(env.name)}.`]
          : table(['KID', 'ALG', 'STATUS', 'CREATED', 'RETIRED_UNTIL'],
            keys.map((k) => [k.kid, k.alg, k.status, iso(k.createdAt), k.retiredUntil === null ? '-' : iso(k.retiredUntil)])),
      };
    }),
};
