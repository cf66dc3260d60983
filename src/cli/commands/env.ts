// `env create`, `env list`: environments are separate tenants (clients, users, keys, issuers).
import { JSON_FLAG, type CommandSpec } from '../args.ts';
import { environmentJson, table, day, safe } from '../output.ts';
import { withServices } from '../session.ts';

export const envCreate: CommandSpec = {
  path: ['env', 'create'],
  summary: 'Create an environment (its own clients, users, signing keys and issuer).',
  flags: {
    name: { type: 'string', required: true, description: 'Name: 1-64 letters, digits, dots, dashes or underscores' },
    unlicensed: { type: 'boolean', description: 'Not licensed for MFA: RSA device registration codes are refused' },
    json: JSON_FLAG,
  },
  run: (args, io) =>
    withServices(io, async (services) => {
      const env = await services.admin.createEnvironment(args.string('name') ?? '', { mfaLicensed: !args.bool('unlicensed') });
      return {
        json: environmentJson(env),
        text: [`Created environment ${safe(env.name)}`, `id: ${env.id}`, `OAuth endpoints: ${services.config.publicUrl}/${env.id}/as`],
      };
    }),
};

export const envList: CommandSpec = {
  path: ['env', 'list'],
  summary: 'List the environments.',
  flags: { json: JSON_FLAG },
  run: (_args, io) =>
    withServices(io, async (services) => {
      const envs = await services.admin.listEnvironments();
      return {
        json: { environments: envs.map(environmentJson) },
        text: table(['ID', 'NAME', 'CREATED'], envs.map((e) => [e.id, e.name, day(e.createdAt)])),
      };
    }),
};
