// `client create|update|list|delete`: OAuth clients allowed to use the device grant, with their
// lifetimes and device policy (README "Device policy").
import { CoreError, isCoreError } from '../../core/errors.ts';
import { OFFLINE_ACCESS } from '../../core/scopes.ts';
import type { Client } from '../../model/records.ts';
import { ENV_FLAG, JSON_FLAG, UsageError, type CommandSpec, type FlagSpec } from '../args.ts';
import { DEVICE_NETWORKS_FLAG, DEVICE_SCOPES_FLAG, networksFlag, SAME_NETWORK_FLAG, scopesFlag } from '../device-policy.ts';
import { warn } from '../io.ts';
import { clientJson, safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

/** Options create and update share: how long things live, and the device policy. */
const LIFETIME_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'code-lifetime': { type: 'string', placeholder: 'seconds', description: 'Device and user code lifetime, 1-3600 (default: 600)' },
  'poll-interval': { type: 'string', placeholder: 'seconds', description: 'Minimum polling interval, 1-60 (default: 5)' },
  'token-lifetime': { type: 'string', placeholder: 'seconds', description: 'Access token lifetime, 60-86400 (default: 3600)' },
};
const REFRESH_LIFETIME_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'refresh-idle': { type: 'string', placeholder: 'seconds', description: 'A grant unused this long ends (default: 30 days)' },
  'refresh-lifetime': { type: 'string', placeholder: 'seconds', description: 'A grant ends this long after approval (default: 90 days)' },
};

/** The policy lines of a client, for people: only what is set. */
function policyLines(client: Client): string[] {
  const p = client.devicePolicy;
  return [
    ...(p.networks === null ? [] : [`device networks: ${p.networks.join(', ')}`]),
    ...(p.scopes === null ? [] : [`device scopes:   ${safe(p.scopes.join(' '))}`]),
    ...(p.sameNetwork ? ['same network:    the approver must be on the device\'s network'] : []),
  ];
}

export const clientCreate: CommandSpec = {
  path: ['client', 'create'],
  summary: 'Create an OAuth client for the device authorization grant and print its client_id.',
  details: 'A confidential client also gets a client_secret, printed once: it is stored only as a hash.',
  flags: {
    name: { type: 'string', required: true, description: 'Display name, shown when a user approves a code' },
    confidential: { type: 'boolean', description: 'Issue a client_secret (default: a public client)' },
    scope: { type: 'string', placeholder: 's1 s2', description: 'Space-separated scopes it may request (default: "openid profile email")' },
    ...LIFETIME_FLAGS,
    audience: { type: 'string', placeholder: 'aud', description: 'The aud claim of its access tokens (default: the issuer)' },
    refresh: { type: 'boolean', description: 'Allow refresh tokens: issued when offline_access is approved (added to its scopes)' },
    'refresh-always': { type: 'boolean', description: 'With --refresh: a refresh token with every token, offline_access or not' },
    'no-rotation': { type: 'boolean', description: 'With --refresh --confidential: keep one refresh token (public clients always rotate)' },
    ...REFRESH_LIFETIME_FLAGS,
    'device-networks': DEVICE_NETWORKS_FLAG,
    'device-scopes': DEVICE_SCOPES_FLAG,
    'same-network': SAME_NETWORK_FLAG,
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    if (!args.bool('refresh') && (args.string('scope') ?? '').split(/\s+/).includes(OFFLINE_ACCESS)) {
      throw new UsageError(`${args.command}: --scope has offline_access, which asks for refresh tokens: add --refresh, or leave offline_access out`, args.command);
    }
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
      deviceNetworks: networksFlag(args) ?? undefined,
      deviceScopes: scopesFlag(args) ?? undefined,
      sameNetwork: args.bool('same-network'),
    };
    return withEnvironment(args, io, async (services, env) => {
      const { client, secret } = await services.admin.createClient({ envId: env.id, ...input });
      const text = [
        `Created ${client.type} client "${safe(client.name)}" in environment ${safe(env.name)} (scope: ${safe(client.scopes.join(' '))})`,
        `client_id:     ${client.clientId}`,
        ...policyLines(client),
      ];
      if (secret !== undefined) {
        text.push(`client_secret: ${secret}`);
        warn(io, 'the client_secret is shown only this once; store it now');
      }
      return { json: { ...clientJson(client), ...(secret === undefined ? {} : { client_secret: secret }) }, text };
    });
  },
};

export const clientUpdate: CommandSpec = {
  path: ['client', 'update'],
  summary: 'Change a client\'s name, lifetimes, refresh tokens and device policy; what is not given stays as it is.',
  details: [
    'The policy applies from the next device authorization (networks, scopes) and the next code entered (same network);',
    'codes already handed out keep their lifetime and interval. --device-networks default and --device-scopes default',
    'drop the client\'s own setting, so the environment\'s (env update) applies again.',
  ].join('\n'),
  positional: { name: 'client_id' },
  flags: {
    name: { type: 'string', description: 'Display name, shown when a user approves a code' },
    ...LIFETIME_FLAGS,
    refresh: { type: 'boolean', description: 'Allow refresh tokens from now on: issued when offline_access is approved (added to its scopes)' },
    ...REFRESH_LIFETIME_FLAGS,
    'device-networks': { ...DEVICE_NETWORKS_FLAG, placeholder: 'cidr,…|default' },
    'device-scopes': { ...DEVICE_SCOPES_FLAG, placeholder: 's1 s2|default' },
    'same-network': SAME_NETWORK_FLAG,
    'no-same-network': { type: 'boolean', description: 'The approver may be on any network again' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const clientId = args.requiredPositional();
    if (args.bool('same-network') && args.bool('no-same-network')) {
      throw new UsageError(`${args.command}: --same-network and --no-same-network contradict each other`, args.command);
    }
    const input = {
      name: args.string('name'),
      refreshTokens: args.bool('refresh') ? true : undefined,
      codeLifetime: args.int('code-lifetime'),
      pollInterval: args.int('poll-interval'),
      tokenLifetime: args.int('token-lifetime'),
      refreshIdleSeconds: args.int('refresh-idle'),
      refreshLifetimeSeconds: args.int('refresh-lifetime'),
      deviceNetworks: networksFlag(args, 'default'),
      deviceScopes: scopesFlag(args, 'default'),
      sameNetwork: args.bool('same-network') ? true : args.bool('no-same-network') ? false : undefined,
    };
    if (Object.values(input).every((v) => v === undefined)) throw new UsageError(`${args.command}: nothing to change`, args.command);
    return withEnvironment(args, io, async (services, env) => {
      let client: Client;
      try {
        client = await services.admin.updateClient(env.id, clientId, input);
      } catch (err) {
        if (isCoreError(err) && err.code === 'not_found') throw new CoreError('not_found', `no client ${clientId} in environment ${env.name}`);
        throw err;
      }
      return {
        json: clientJson(client),
        text: [`Updated client "${safe(client.name)}" (${client.clientId}) in environment ${safe(env.name)}`, ...policyLines(client)],
      };
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
