// `approve` and `deny`: decide a pending device code on a user's behalf, as the verification page
// would after they signed in (support desks, headless set-ups, tests).
import { CoreError, isCoreError } from '../../core/errors.ts';
import { formatUserCode, normalizeUserCode } from '../../crypto/codes.ts';
import { ENV_FLAG, JSON_FLAG, type CommandSpec } from '../args.ts';
import { safe } from '../output.ts';
import { withEnvironment } from '../session.ts';

function decideCommand(approve: boolean): CommandSpec {
  const verb = approve ? 'approve' : 'deny';
  return {
    path: [verb],
    summary: approve
      ? 'Approve a pending device code for a user: the device\'s next poll gets a token.'
      : 'Deny a pending device code: the device\'s next poll gets access_denied.',
    details: 'The code is matched as a person types it: case, spaces and dashes do not matter (`wdjb mjht` = WDJB-MJHT).',
    positional: { name: 'user_code', rest: true },
    flags: {
      user: { type: 'string', required: true, placeholder: 'username', description: `The user who ${verb === 'approve' ? 'approves' : 'denies'} (must be enabled)` },
      env: ENV_FLAG,
      json: JSON_FLAG,
    },
    run: async (args, io) => {
      const typed = args.requiredPositional();
      return withEnvironment(args, io, async (services, env) => {
        const canonical = normalizeUserCode(typed, services.config.userCode);
        const shown = canonical === undefined ? safe(typed) : formatUserCode(canonical);
        let device;
        try {
          device = await services.deviceFlow.findPendingByUserCode(env, typed);
        } catch (err) {
          throw explain(err, shown, env.name);
        }
        const user = await services.admin.users.getByUsername(env.id, args.string('user') ?? '');
        const client = await services.store.clients.get(env.id, device.clientId);
        if (!client) throw new CoreError('not_found', `the client that requested code ${shown} no longer exists`);
        let decided;
        try {
          decided = await services.deviceFlow.decide(device, user, approve);
        } catch (err) {
          throw explain(err, shown, env.name);
        }
        const json = {
          decision: approve ? 'approved' : 'denied',
          user_code: shown,
          environment_id: env.id,
          username: user.username,
          user_id: user.id,
          client_id: client.clientId,
          client_name: client.name,
          scope: decided.scope,
        };
        const text = approve
          ? [`Approved code ${shown} for ${safe(user.username)}: "${safe(client.name)}" (${client.clientId}) gets a token with scope "${safe(decided.scope)}" on its next poll.`]
          : [`Denied code ${shown} for ${safe(user.username)}: "${safe(client.name)}" (${client.clientId}) asked for scope "${safe(decided.scope)}".`];
        return { json, text };
      });
    },
  };
}

/** The engine speaks to the person at the verification page; say the same things with the code in. */
function explain(err: unknown, code: string, envName: string): unknown {
  if (!isCoreError(err)) return err;
  switch (err.code) {
    case 'invalid_user_code':
      return new CoreError(err.code, `no device code ${code} in environment ${safe(envName)}`);
    case 'user_code_expired':
      return new CoreError(err.code, `device code ${code} has expired`);
    case 'user_code_used':
      return new CoreError(err.code, `device code ${code} has already been approved or denied`);
    case 'access_denied':
      return new CoreError(err.code, 'this user is disabled and cannot decide device codes');
    default:
      return err;
  }
}

export const approveCommand = decideCommand(true);
export const denyCommand = decideCommand(false);
