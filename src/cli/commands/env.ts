// `env create|update|show|list`: environments are separate tenants (clients, users, keys, issuers),
// with the device policy defaults their clients fall back on (README "Device policy"), the
// switch for password sign-in on the verification page (README "Command line") and the page's
// branding (README "Branding and languages").
import type { BrandingUpdate } from '../../core/branding.ts';
import type { Environment } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { ENV_FLAG, JSON_FLAG, UsageError, type Args, type CommandSpec, type FlagSpec } from '../args.ts';
import { warn, type Io } from '../io.ts';
import { DEVICE_NETWORKS_FLAG, DEVICE_SCOPES_FLAG, networksFlag, scopesFlag } from '../device-policy.ts';
import { environmentJson, table, day, safe } from '../output.ts';
import { withServices } from '../session.ts';

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

/** The environment named by the argument or by --env (not both), else the default one. */
function withNamedEnvironment<T>(args: Args, io: Io, fn: (services: Services, env: Environment) => Promise<T>): Promise<T> {
  const byFlag = args.string('env');
  if (args.positional !== undefined && byFlag !== undefined && args.positional !== byFlag) {
    throw new UsageError(`${args.command}: name the environment once (as the argument or with --env)`, args.command);
  }
  const ref = args.positional ?? byFlag;
  return withServices(args, io, async (services) => fn(services, await services.admin.resolveEnvironment(ref)));
}

const brandFlag = (description: string, placeholder: string): FlagSpec => ({ type: 'string', placeholder, description: `${description}; "" clears it`, allowEmpty: true });

/** The branding flags, by their BrandingUpdate field. */
const BRANDING_FLAGS = {
  displayName: ['display-name', brandFlag('The verification page\'s heading and title instead of "Connect a device" (1-100 characters)', 'text')],
  logoUrl: ['logo-url', brandFlag('The logo shown on every page step: an https URL (http on loopback only); the page\'s CSP admits its origin', 'url')],
  primaryColor: ['primary-color', brandFlag('The colour of buttons and links, #rgb or #rrggbb (text on buttons is black or white, whichever reads better)', '#rrggbb')],
  supportUrl: ['support-url', brandFlag('Where "Need help?" on the page leads: an https URL (http on loopback only)', 'url')],
} as const satisfies Record<keyof BrandingUpdate, readonly [string, FlagSpec]>;

/** The branding flags given, by field; undefined when none was. */
function brandingFlags(args: Args): BrandingUpdate | undefined {
  const update: BrandingUpdate = {};
  for (const [field, [flag]] of Object.entries(BRANDING_FLAGS) as [keyof BrandingUpdate, readonly [string, FlagSpec]][]) {
    const value = args.string(flag);
    if (value !== undefined) update[field] = value;
  }
  return Object.keys(update).length === 0 ? undefined : update;
}

/** What `env update` and `env show` print for people. */
function environmentLines(env: Environment): string[] {
  const d = env.deviceDefaults;
  const b = env.branding;
  const none = (v: string | null) => (v === null ? '(none)' : safe(v));
  return [
    `id: ${env.id}`,
    `device networks: ${d.networks === null ? 'any' : d.networks.join(', ')}`,
    `device scopes:   ${d.scopes === null ? 'any of each client\'s' : safe(d.scopes.join(' '))}`,
    `password sign-in: ${env.passwordSignIn ? 'on' : 'off'}`,
    `display name:    ${none(b.displayName)}`,
    `logo URL:        ${none(b.logoUrl)}`,
    `primary colour:  ${none(b.primaryColor)}`,
    `support URL:     ${none(b.supportUrl)}`,
  ];
}

export const envUpdate: CommandSpec = {
  path: ['env', 'update'],
  summary: 'Set the device policy defaults of an environment, whether people may sign in on the page with a password, and the page\'s branding.',
  details: [
    'The environment is the argument or --env (by id or name; the default environment without either).',
    '`any` lifts a default: --device-networks any, --device-scopes any.',
    '--password-sign-in off leaves only the environment\'s identity providers (idp add) on the verification page.',
    'An empty branding value clears it: --logo-url "".',
  ].join('\n'),
  positional: { name: 'env', optional: true },
  flags: {
    'device-networks': { ...DEVICE_NETWORKS_FLAG, placeholder: 'cidr,…|any' },
    'device-scopes': { ...DEVICE_SCOPES_FLAG, placeholder: 's1 s2|any' },
    'password-sign-in': { type: 'string', placeholder: 'on|off', description: 'Whether people may sign in with a username and password on the page' },
    ...Object.fromEntries(Object.values(BRANDING_FLAGS).map(([flag, spec]) => [flag, spec])),
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const input = { deviceNetworks: networksFlag(args, 'any'), deviceScopes: scopesFlag(args, 'any') };
    const passwordSignIn = onOff(args, 'password-sign-in');
    const branding = brandingFlags(args);
    const devicePolicy = input.deviceNetworks !== undefined || input.deviceScopes !== undefined;
    if (!devicePolicy && passwordSignIn === undefined && branding === undefined) {
      throw new UsageError(
        `${args.command}: nothing to change (give --device-networks, --device-scopes, --password-sign-in, --display-name, --logo-url, --primary-color or --support-url)`,
        args.command,
      );
    }
    return withNamedEnvironment(args, io, async (services, env) => {
      // Branding first: its values are checked before anything else is changed.
      let updated = branding === undefined ? env : await services.admin.setBranding(env, branding);
      if (devicePolicy) updated = await services.admin.setDeviceDefaults(updated, input);
      if (passwordSignIn !== undefined) {
        updated = await services.admin.setPasswordSignIn(updated, passwordSignIn);
        if (!passwordSignIn && (await services.admin.identityProviders.list(env.id)).length === 0) {
          warn(io, `environment ${safe(env.name)} has no identity provider (idp add): nobody can sign in on the verification page`);
        }
      }
      return { json: environmentJson(updated), text: [`Updated environment ${safe(updated.name)}`, ...environmentLines(updated)] };
    });
  },
};

export const envShow: CommandSpec = {
  path: ['env', 'show'],
  summary: 'Show an environment: its device policy defaults, password sign-in and the verification page\'s branding.',
  details: 'The environment is the argument or --env (by id or name; the default environment without either).',
  positional: { name: 'env', optional: true },
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withNamedEnvironment(args, io, (_services, env) => Promise.resolve({
      json: environmentJson(env),
      text: [`Environment ${safe(env.name)}`, ...environmentLines(env)],
    })),
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
