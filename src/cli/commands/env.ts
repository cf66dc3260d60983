// `env create|update|list`: environments are separate tenants (clients, users, keys, issuers),
// with the device policy defaults their clients fall back on (README "Device policy") and the
// switch for password sign-in on the verification page (README "Command line").
import { ENV_FLAG, JSON_FLAG, UsageError, type Args, type CommandSpec } from '../args.ts';
import { warn } from '../io.ts';
import { DEVICE_NETWORKS_FLAG, DEVICE_SCOPES_FLAG, networksFlag, scopesFlag } from '../device-policy.ts';
import { environmentJson, table, day, safe } from '../output.ts';
import { withEnvironment, withServices } from '../session.ts';

export const envCreate: CommandSpec = {
  path: ['env', 'create'],
  database: 'create',
  summary: 'Create an environment (its own clients, users, signing keys and issuer).',
  flags: {
    name: { type: 'string', required: true, description: 'Name: 1-64 letters, digits, dots, dashes or underscores' },
    unlicensed: { type: 'boolean', description: 'Not licensed for MFA: RSA device registration codes are refused' },
    json: JSON_FLAG,
  },
  run: (args, io) =>
    withServices(args, io, async (services) => {
      const env = await services.admin.createEnvironment(args.string('name') ?? '', { mfaLicensed: !args.bool('unlicensed') });
      return {
        json: environmentJson(env),
        text: [`Created environment ${safe(env.name)}`, `id: ${env.id}`, `OAuth endpoints: ${services.config.publicUrl}/${env.id}/as`],
      };
    }),
};

export const envUpdate: CommandSpec = {
  path: ['env', 'update'],
  summary: 'Set the device policy defaults of an environment, and whether people may sign in on the page with a password.',
  details: [
    '`any` lifts a default: --device-networks any, --device-scopes any.',
    '--password-sign-in off leaves only the environment\'s identity providers (idp add) on the verification page.',
  ].join('\n'),
  flags: {
    'device-networks': { ...DEVICE_NETWORKS_FLAG, placeholder: 'cidr,…|any' },
    'device-scopes': { ...DEVICE_SCOPES_FLAG, placeholder: 's1 s2|any' },
    'password-sign-in': { type: 'string', placeholder: 'on|off', description: 'Whether people may sign in with a username and password on the page' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const input = { deviceNetworks: networksFlag(args, 'any'), deviceScopes: scopesFlag(args, 'any') };
    const passwordSignIn = onOff(args, 'password-sign-in');
    const devicePolicy = input.deviceNetworks !== undefined || input.deviceScopes !== undefined;
    if (!devicePolicy && passwordSignIn === undefined) {
      throw new UsageError(`${args.command}: nothing to change (give --device-networks, --device-scopes or --password-sign-in)`, args.command);
    }
    return withEnvironment(args, io, async (services, env) => {
      let updated = devicePolicy ? await services.admin.setDeviceDefaults(env, input) : env;
      if (passwordSignIn !== undefined) {
        updated = await services.admin.setPasswordSignIn(updated, passwordSignIn);
        if (!passwordSignIn && (await services.admin.listIdentityProviders(env.id)).length === 0) {
          warn(io, `environment ${safe(env.name)} has no identity provider (idp add): nobody can sign in on the verification page`);
        }
      }
      const d = updated.deviceDefaults;
      return {
        json: environmentJson(updated),
        text: [
          `Updated environment ${safe(updated.name)}`,
          `device networks: ${d.networks === null ? 'any' : d.networks.join(', ')}`,
          `device scopes:   ${d.scopes === null ? 'any of each client\'s' : safe(d.scopes.join(' '))}`,
          `password sign-in: ${updated.passwordSignIn ? 'on' : 'off'}`,
        ],
      };
    });
  },
};

/** An on|off flag; undefined when not given. */
function onOff(args: Args, name: string): boolean | undefined {
  const value = args.string(name);
  if (value === undefined) return undefined;
  if (value === 'on' || value === 'off') return value === 'on';
  throw new UsageError(`${args.command}: --${name} must be on or off, got "${safe(value)}"`, args.command);
}

export const envList: CommandSpec = {
  path: ['env', 'list'],
  summary: 'List the environments.',
  flags: { json: JSON_FLAG },
  run: (args, io) =>
    withServices(args, io, async (services) => {
      const envs = await services.admin.listEnvironments();
      return {
        json: { environments: envs.map(environmentJson) },
        text: table(['ID', 'NAME', 'CREATED'], envs.map((e) => [e.id, e.name, day(e.createdAt)])),
      };
    }),
};
