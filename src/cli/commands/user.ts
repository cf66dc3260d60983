// `user create|update|disable|enable|list`: the people who approve device codes, with the profile
// attributes OpenID Connect reports about them (OpenID Connect Core 1.0 §5.1).
import type { UserUpdate } from '../../core/admin.ts';
import { ENV_FLAG, JSON_FLAG, UsageError, type Args, type CommandSpec, type FlagSpec } from '../args.ts';
import { day, safe, table, userJson } from '../output.ts';
import { readPassword } from '../password.ts';
import { withEnvironment } from '../session.ts';

/** The names, as `user create` and `user update` take them; each one is the claim of the same name. */
const NAME_FLAGS = {
  name: { type: 'string', placeholder: 'full name', description: 'Full name, e.g. "Alice Liddell" (the `name` claim; 1-200 characters)' },
  'given-name': { type: 'string', placeholder: 'given name', description: 'Given (first) name (the `given_name` claim)' },
  'family-name': { type: 'string', placeholder: 'family name', description: 'Family (last) name (the `family_name` claim)' },
} as const satisfies Record<string, FlagSpec>;

const EMAIL_VERIFIED: FlagSpec = { type: 'boolean', description: 'The address is known to reach this person (the `email_verified` claim)' };

export const userCreate: CommandSpec = {
  path: ['user', 'create'],
  summary: 'Create a user who can sign in and approve device codes.',
  details: [
    'The password (8-1024 characters) is never taken from the command line: it is the first line',
    'of stdin when stdin is piped (e.g. `printf %s "$PW" | device-code-server user create ...`),',
    'otherwise it is prompted for twice without echo.',
    'Names that are not given stay unset: a full name is never split into given and family names.',
    'The email is unverified unless --email-verified is given.',
  ].join('\n'),
  flags: {
    username: { type: 'string', required: true, placeholder: 'username', description: 'Sign-in name: letters, digits or . _ @ + -' },
    email: { type: 'string', required: true, placeholder: 'email', description: 'Email address, unique in the environment' },
    ...NAME_FLAGS,
    'email-verified': EMAIL_VERIFIED,
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const password = await readPassword(io);
    return withEnvironment(args, io, async (services, env) => {
      const user = await services.admin.users.create({
        envId: env.id,
        username: args.string('username') ?? '',
        email: args.string('email') ?? '',
        password,
        name: args.string('name'),
        givenName: args.string('given-name'),
        familyName: args.string('family-name'),
        emailVerified: args.bool('email-verified'),
      });
      return { json: userJson(user), text: [`Created user ${safe(user.username)} <${safe(user.email)}> in environment ${safe(env.name)}`] };
    });
  },
};

/** The changes `user update` asks for; a command line that asks for none, or contradicts itself, is a usage error. */
function profileUpdate(args: Args): UserUpdate {
  const verified = args.bool('email-verified');
  const unverified = args.bool('email-unverified');
  if (verified && unverified) throw new UsageError(`${args.command}: --email-verified and --email-unverified contradict each other`, args.command);
  const update: UserUpdate = {};
  const name = args.string('name');
  const givenName = args.string('given-name');
  const familyName = args.string('family-name');
  const email = args.string('email');
  if (name !== undefined) update.name = name;
  if (givenName !== undefined) update.givenName = givenName;
  if (familyName !== undefined) update.familyName = familyName;
  if (email !== undefined) update.email = email;
  if (verified || unverified) update.emailVerified = verified;
  if (Object.keys(update).length === 0) {
    throw new UsageError(`${args.command}: nothing to change (give --name, --given-name, --family-name, --email, --email-verified or --email-unverified)`,
      args.command);
  }
  return update;
}

export const userUpdate: CommandSpec = {
  path: ['user', 'update'],
  summary: "Change a user's name, given name, family name, email, or whether the email is verified.",
  details: [
    'Only what is given changes. A new --email is unverified unless --email-verified is given with it:',
    'nobody has vouched for the new address yet. The user\'s updated_at (the `updated_at` claim) moves.',
  ].join('\n'),
  positional: { name: 'username' },
  flags: {
    ...NAME_FLAGS,
    email: { type: 'string', placeholder: 'email', description: 'New email address, unique in the environment' },
    'email-verified': EMAIL_VERIFIED,
    'email-unverified': { type: 'boolean', description: 'The address is not known to reach this person' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const username = args.requiredPositional();
    const update = profileUpdate(args);
    return withEnvironment(args, io, async (services, env) => {
      const user = await services.admin.users.update(env.id, username, update);
      const email = `<${safe(user.email)}>${user.emailVerified ? '' : ' (unverified)'}`;
      return { json: userJson(user), text: [`Updated user ${safe(user.username)}: ${user.name === null ? '' : `${safe(user.name)} `}${email}`] };
    });
  },
};

function setDisabled(disabled: boolean): CommandSpec {
  const verb = disabled ? 'disable' : 'enable';
  return {
    path: ['user', verb],
    summary: disabled
      ? 'Disable a user: they can no longer sign in or approve codes; their grants and unredeemed approvals end, for good.'
      : 'Enable a disabled user again: they can sign in; grants and approvals ended by the disable stay ended.',
    positional: { name: 'username' },
    flags: { env: ENV_FLAG, json: JSON_FLAG },
    run: async (args, io) => {
      const username = args.requiredPositional();
      return withEnvironment(args, io, async (services, env) => {
        const user = await services.admin.users.setDisabled(env.id, username, disabled);
        const text = disabled
          ? [`Disabled user ${safe(user.username)}; their devices and sessions are signed out, and stay so if they are enabled again`]
          : [`Enabled user ${safe(user.username)}; devices signed out by the disable must sign in again`];
        return { json: userJson(user), text };
      });
    },
  };
}

export const userDisable = setDisabled(true);
export const userEnable = setDisabled(false);

export const userList: CommandSpec = {
  path: ['user', 'list'],
  summary: 'List the users of an environment.',
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const users = await services.admin.users.list(env.id);
      return {
        json: { users: users.map(userJson) },
        text: users.length === 0
          ? [`No users in environment ${safe(env.name)}.`]
          : table(['USERNAME', 'NAME', 'EMAIL', 'STATUS', 'CREATED'],
            users.map((u) => [u.username, u.name ?? '-', u.email, u.disabled ? 'disabled' : 'enabled', day(u.createdAt)])),
      };
    }),
};
