// `admin-key create|list|revoke`: RSA-style admin API keys (docs/vendors.md). The key file carries
// the only copy of the private key; it is written 0600 and never overwritten, and the server keeps
// only the public half.
import { closeSync, fchmodSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_ROLES, type AdminKey } from '../../model/records.ts';
import { ENV_FLAG, InputError, JSON_FLAG, type CommandSpec } from '../args.ts';
import { warn } from '../io.ts';
import { day, safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

function adminKeyJson(key: AdminKey): Record<string, unknown> {
  return {
    access_id: key.accessId,
    environment_id: key.envId,
    role: key.role,
    description: key.description,
    created_at: new Date(key.createdAt).toISOString(),
    revoked_at: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}

/** Opens `file` for a new key file: it must not exist yet, and only its owner may read it. */
function createKeyFile(file: string): number {
  try {
    const fd = openSync(file, 'wx', 0o600);
    fchmodSync(fd, 0o600); // whatever the umask
    return fd;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new InputError(`${file} exists; a key file is never overwritten (choose another --out)`);
    throw new InputError(`cannot create ${file} (${code ?? 'error'})`);
  }
}

export const adminKeyCreate: CommandSpec = {
  path: ['admin-key', 'create'],
  summary: 'Create an RSA admin API key and write its key file (the only copy of the private key).',
  details: [
    'The key file is JSON: customerName, accessID, description, accessKey (PEM private key) and',
    'adminRestApiUrl, written with mode 0600. Admins sign RS256 JWTs with it (sub = accessID,',
    'aud = adminRestApiUrl, exp at most one hour after iat) for /AdminInterface/restapi.',
  ].join('\n'),
  flags: {
    role: { type: 'string', required: true, placeholder: ADMIN_ROLES.join('|'), description: 'super_admin may also delete devices; helpdesk_admin issues codes and looks users up' },
    description: { type: 'string', placeholder: 'text', description: 'What the key is for (shown by admin-key list)' },
    out: { type: 'string', required: true, placeholder: 'file', description: 'Where to write the key file (must not exist)' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const out = path.resolve(args.string('out') ?? '');
    return withEnvironment(args, io, async (services, env) => {
      const fd = createKeyFile(out);
      let written = false;
      try {
        const { key, file } = await services.adminKeys.create(env, args.string('role') ?? '', args.string('description'));
        writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
        written = true;
        warn(io, `${out} holds the only copy of the private key; keep it secret`);
        return {
          json: { ...adminKeyJson(key), key_file: out, admin_rest_api_url: file.adminRestApiUrl },
          text: [
            `Created ${key.role} admin key in environment ${safe(env.name)}`,
            `accessID:        ${key.accessId}`,
            `key file:        ${safe(out)} (mode 0600)`,
            `adminRestApiUrl: ${file.adminRestApiUrl}`,
          ],
        };
      } finally {
        closeSync(fd);
        if (!written) unlinkSync(out);
      }
    });
  },
};

export const adminKeyList: CommandSpec = {
  path: ['admin-key', 'list'],
  summary: 'List the admin API keys of an environment.',
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const keys = await services.adminKeys.list(env.id);
      return {
        json: { admin_keys: keys.map(adminKeyJson) },
        text: keys.length === 0
          ? [`No admin keys in environment ${safe(env.name)}.`]
          : table(['ACCESS_ID', 'ROLE', 'STATUS', 'CREATED', 'DESCRIPTION'],
            keys.map((k) => [k.accessId, k.role, k.revokedAt === null ? 'active' : 'revoked', day(k.createdAt), k.description])),
      };
    }),
};

export const adminKeyRevoke: CommandSpec = {
  path: ['admin-key', 'revoke'],
  summary: 'Revoke an admin API key: its tokens are refused from the next request on.',
  positional: { name: 'access_id' },
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: async (args, io) => {
    const accessId = args.requiredPositional();
    return withEnvironment(args, io, async (services, env) => {
      const key = await services.adminKeys.revoke(env.id, accessId);
      return { json: adminKeyJson(key), text: [`Revoked admin key ${safe(key.accessId)}`] };
    });
  },
};
