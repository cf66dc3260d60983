// `session-token --user <username>`: a session JWT for the Veeam-compatible API, for scripts that
// act as a user without their password. Prints the token alone, so `$(…)` captures it.
import { ENV_FLAG, JSON_FLAG, type CommandSpec } from '../args.ts';
import { withEnvironment } from '../session.ts';

export const sessionTokenCommand: CommandSpec = {
  path: ['session-token'],
  summary: 'Print a session token (JWT) for a user, for the Veeam-compatible API.',
  details: 'Use it as `Authorization: Bearer <token>` on /api/v1/accounts/created/getDeviceCode (or /{envID}/api/… for another environment).',
  flags: {
    user: { type: 'string', required: true, placeholder: 'username', description: 'The user the session speaks for (must be enabled)' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const user = await services.admin.users.getByUsername(env.id, args.string('user') ?? '');
      const session = await services.sessions.start(env, services.urls.of(env), user);
      return {
        json: { access_token: session.accessToken, token_type: 'Bearer', expires_in: session.expiresIn },
        text: [session.accessToken],
      };
    }),
};
