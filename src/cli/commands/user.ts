// `user create|disable|enable|list`: the people who approve device codes.
import { ENV_FLAG, JSON_FLAG, type CommandSpec } from '../args.ts';
import { day, safe, table, userJson } from '../output.ts';
import { readPassword } from '../password.ts';
import { withEnvironment } from '../session.ts';

export const userCreate: CommandSpec = {
  path: ['user', 'create'],
  summary: 'Create a user who can sign in and approve device codes.',
  details: [
    'The password (8-1024 characters) is never taken from the command line: it is the first line',
    'of stdin when stdin is piped (e.g. `printf %s "$PW" | device-code-server user create ...`),',
    'otherwise it is prompted for twice without echo.',
  ].join('\n'),
  flags: {
    username: { type: 'string', required: true, placeholder: 'username', description: 'Sign-in name: letters, digits or . _ @ + -' },
    email: { type: 'string', required: true, placeholder: 'email', description: 'Email address, unique in the environment' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const password = await readPassword(io);
    return withEnvironment(args, io, async (services, env) => {
      const user = await services.admin.createUser({
        envId: env.id,
        username: args.string('username') ?? '',
        email: args.string('email') ?? '',
        password,
      });
      return { json: userJson(user), text: [`Created user ${safe(user.username)} <${safe(user.email)}> in environment ${safe(env.name)}`] };
    });
  },
};

function setDisabled(disabled: boolean): CommandSpec {
  const verb = disabled ? 'disable' : 'enable';
  return {
    path: ['user', verb],
    summary: disabled
      ? 'Disable a user: they can no longer approve codes, and codes they approved stop yielding tokens.'
      : 'Enable a disabled user again.',
    positional: { name: 'username' },
    flags: { env: ENV_FLAG, json: JSON_FLAG },
    run: async (args, io) => {
      const username = args.requiredPositional();
      return withEnvironment(args, io, async (services, env) => {
        const user = await services.admin.setUserDisabled(env.id, username, disabled);
        return { json: userJson(user), text: [`${disabled ? 'Disabled' : 'Enabled'} user ${safe(user.username)}`] };
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
      const users = await services.admin.listUsers(env.id);
      return {
        json: { users: users.map(userJson) },
        text: users.length === 0
          ? [`No users in environment ${safe(env.name)}.`]
          : table(['USERNAME', 'EMAIL', 'STATUS', 'CREATED'], users.map((u) => [u.username, u.email, u.disabled ? 'disabled' : 'enabled', day(u.createdAt)])),
      };
    }),
};
