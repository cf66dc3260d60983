// `app add|list`: the authenticator applications an environment accepts device registrations from.
// The RSA Authenticator (iOS and Android) is built in.
import { ENV_FLAG, JSON_FLAG, type CommandSpec } from '../args.ts';
import { safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

export const appAdd: CommandSpec = {
  path: ['app', 'add'],
  summary: 'Accept device registrations from another authenticator app; prints its app id.',
  flags: {
    name: { type: 'string', required: true, description: 'Display name, e.g. "Contoso Authenticator"' },
    id: { type: 'string', placeholder: 'uuid', description: 'The app id the app sends (default: a new UUID)' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const app = await services.registration.addApp(env, args.string('name') ?? '', args.string('id'));
      return {
        json: { app_id: app.appId, name: app.name, environment_id: env.id, built_in: false },
        text: [`Added app "${safe(app.name)}" to environment ${safe(env.name)}`, `app_id: ${app.appId}`],
      };
    }),
};

export const appList: CommandSpec = {
  path: ['app', 'list'],
  summary: 'List the authenticator apps an environment accepts registrations from.',
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const apps = await services.registration.listApps(env);
      return {
        json: { apps: apps.map((a) => ({ app_id: a.appId, name: a.name, built_in: a.builtIn })) },
        text: table(['APP_ID', 'NAME', 'KIND'], apps.map((a) => [a.appId, a.name, a.builtIn ? 'built-in' : 'added'])),
      };
    }),
};
