// `grants list --user <u>` and `grants revoke <id>`: the devices and sessions a person is signed in
// on (docs/protocol.md), for a support desk to see and end ("sign the TV out").
import type { Grant } from '../../model/records.ts';
import { ENV_FLAG, JSON_FLAG, type CommandSpec } from '../args.ts';
import { safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

const iso = (ms: number) => new Date(ms).toISOString();

function grantJson(g: Grant, clientName: string | undefined): Record<string, unknown> {
  return {
    id: g.id,
    environment_id: g.envId,
    user_id: g.userId,
    client_id: g.clientId,
    client_name: clientName ?? null,
    kind: g.kind,
    scope: g.scope,
    created_at: iso(g.createdAt),
    last_used_at: iso(g.lastUsedAt),
    expires_at: iso(Math.min(g.idleExpiresAt, g.absoluteExpiresAt)),
    revoked_at: g.revokedAt === null ? null : iso(g.revokedAt),
  };
}

export const grantsList: CommandSpec = {
  path: ['grants', 'list'],
  summary: 'List the live grants of a user: the devices and API sessions they are signed in on.',
  flags: {
    user: { type: 'string', required: true, placeholder: 'username', description: 'Whose grants' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const user = await services.admin.users.getByUsername(env.id, args.string('user') ?? '');
      const grants = await services.grants.listLive(env, user.id);
      const names = new Map((await services.admin.listClients(env.id)).map((c) => [c.clientId, c.name]));
      return {
        json: { grants: grants.map((g) => grantJson(g, names.get(g.clientId))) },
        text: grants.length === 0
          ? [`${safe(user.username)} has no live grants.`]
          : table(['GRANT_ID', 'KIND', 'APPLICATION', 'APPROVED', 'LAST USED', 'SCOPE'],
            grants.map((g) => [g.id, g.kind, names.get(g.clientId) ?? g.clientId, iso(g.createdAt), iso(g.lastUsedAt), g.scope])),
      };
    }),
};

export const grantsRevoke: CommandSpec = {
  path: ['grants', 'revoke'],
  summary: 'End a grant: its refresh tokens stop working and its access tokens become inactive.',
  positional: { name: 'grant_id' },
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: async (args, io) => {
    const id = args.requiredPositional();
    return withEnvironment(args, io, async (services, env) => {
      const grant = await services.grants.revoke(env, id);
      return { json: grantJson(grant, undefined), text: [`Revoked grant ${safe(grant.id)}`] };
    });
  },
};
