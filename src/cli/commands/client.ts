// `client create|list|delete`: OAuth clients allowed to use the device grant.
import { CoreError, isCoreError } from '../../core/errors.ts';
import { ENV_FLAG, JSON_FLAG, type CommandSpec } from '../args.ts';
import { warn } from '../io.ts';
import { clientJson, safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

export const clientCreate: CommandSpec = {
  path: ['client', 'create'],
  summary: 'Create an OAuth client for the device authorization grant and print its client_id.',
  details: 'A confidential client also gets a client_secret, printed once: it is stored only as a hash.',
  flags: {
    name: { type: 'string', required: true, description: 'Display name, shown when a user approves a code' },
    confidential: { type: 'boolean', description: 'Issue a client_secret (default: a public client)' },
    scope: { type: 'string', placeholder: 's1 s2', description: 'Space-separated scopes it may request (default: "openid profile email")' },
    'code-lifetime': { type: 'string', placeholder: 'seconds', description: 'Device and user code lifetime, 1-3600 (default: 600)' },
    'poll-interval': { type: 'string', placeholder: 'seconds', description: 'Minimum polling interval, 1-60 (default: 5)' },
    'token-lifetime': { type: 'string', placeholder: 'seconds', description: 'Access token lifetime, 60-86400 (default: 3600)' },
    audience: { type: 'string', placeholder: 'aud', description: 'The aud claim of its access tokens (default: the issuer)' },
    refresh: { type: 'boolean', description: 'Allow refresh tokens: issued when offline_access is approved (added to its scopes)' },
    'refresh-always': { type: 'boolean', description: 'With --refresh: a refresh token with every token, offline_access or not' },
    'no-rotation': { type: 'boolean', description: 'With --refresh --confidential: keep one refresh token (public clients always rotate)' },
    'refresh-idle': { type: 'string', placeholder: 'seconds', description: 'A grant unused this long ends (default: 30 days)' },
    'refresh-lifetime': { type: 'string', placeholder: 'seconds', description: 'A grant ends this long after approval (default: 90 days)' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const input = {
      name: args.string('name') ?? '',
      confidential: args.bool('confidential'),
      scope: args.string('scope'),
      codeLifetime: args.int('code-lifetime'),
      pollInterval: args.int('poll-interval'),
      tokenLifetime: args.int('token-lifetime'),
      audience: args.string('audience') ?? null,
      refreshTokens: args.bool('refresh'),
      refreshAlways: args.bool('refresh-always'),
      noRotation: args.bool('no-rotation'),
      refreshIdleSeconds: args.int('refresh-idle'),
      refreshLifetimeSeconds: args.int('refresh-lifetime'),
    };
    return withEnvironment(args, io, async (services, env) => {
      const { client, secret } = await services.admin.createClient({ envId: env.id, ...input });
      const text = [
        `Created ${client.type} client "${safe(client.name)}" in environment ${safe(env.name)} (scope: ${safe(client.scopes.join(' '))})`,
        `client_id:     ${client.clientId}`,
      ];
      if (secret !== undefined) {
        text.push(`client_secret: ${secret}`);
        warn(io, 'the client_secret is shown only this once; store it now');
      }
      return { json: { ...clientJson(client), ...(secret === undefined ? {} : { client_secret: secret }) }, text };
    });
  },
};

export const clientList: CommandSpec = {
  path: ['client', 'list'],
  summary: 'List the clients of an environment.',
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const clients = await services.admin.listClients(env.id);
      return {
        json: { clients: clients.map(clientJson) },
        text: clients.length === 0
          ? [`No clients in environment ${safe(env.name)}.`]
          : table(['CLIENT_ID', 'TYPE', 'NAME', 'SCOPE'], clients.map((c) => [c.clientId, c.type, c.name, c.scopes.join(' ')])),
      };
    }),
};

export const clientDelete: CommandSpec = {
  path: ['client', 'delete'],
  summary: 'Delete a client and end its device authorizations: none of its codes can be approved or redeemed after.',
  positional: { name: 'client_id' },
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: async (args, io) => {
    const clientId = args.requiredPositional();
    return withEnvironment(args, io, async (services, env) => {
      try {
        await services.admin.deleteClient(env.id, clientId);
      } catch (err) {
        if (isCoreError(err) && err.code === 'not_found') throw new CoreError('not_found', `no client ${clientId} in environment ${env.name}`);
        throw err;
      }
      return { json: { deleted: true, client_id: clientId }, text: [`Deleted client ${safe(clientId)}`] };
    });
  },
};
