// `audit list`: the audit trail (README "Audit trail"), newest last, filtered by type, user and time.
// A filter that cannot be read is a usage error (exit 1), never an empty answer.
import { auditEventJson, ref } from '../../core/audit.ts';
import { AUDIT_EVENT_TYPES, type AuditEventType } from '../../model/records.ts';
import { ENV_FLAG, JSON_FLAG, UsageError, type CommandSpec } from '../args.ts';
import { safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

const COMMAND = 'audit list';
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 time, or a duration back from now such as 30m, 24h or 7d. */
export function parseSince(value: string, now: number): number {
  const duration = /^(\d{1,6})([smhd])$/.exec(value);
  if (duration) return now - Number(duration[1]) * (UNITS[duration[2] ?? 's'] ?? 1000);
  const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw new UsageError(`${COMMAND}: --since must be an ISO 8601 time or a duration like 30m, 24h or 7d, got "${value}"`, COMMAND);
  return at;
}

function parseTypes(value: string): AuditEventType[] {
  const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = types.filter((t) => !(AUDIT_EVENT_TYPES as readonly string[]).includes(t));
  if (types.length === 0 || unknown.length > 0) {
    throw new UsageError(`${COMMAND}: --type must be one or more of ${AUDIT_EVENT_TYPES.join(', ')}; unknown: ${unknown.join(', ') || '(none)'}`, COMMAND);
  }
  return types as AuditEventType[];
}

export const auditList: CommandSpec = {
  path: ['audit', 'list'],
  summary: 'List audit events of an environment, oldest first (the newest --limit).',
  flags: {
    type: { type: 'string', placeholder: 'type[,type…]', description: `Only these types: ${AUDIT_EVENT_TYPES.join(', ')}` },
    user: { type: 'string', placeholder: 'username', description: 'Only events whose actor or subject is this user' },
    since: { type: 'string', placeholder: 'time|duration', description: 'Only events at or after an ISO 8601 time, or within a duration such as 24h or 7d' },
    limit: { type: 'string', placeholder: 'n', description: 'At most this many events, the newest (default 100, at most 10000)' },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: (args, io) => {
    const typeFlag = args.string('type');
    const types = typeFlag === undefined ? undefined : parseTypes(typeFlag);
    const limit = args.int('limit') ?? 100;
    if (limit < 1 || limit > 10_000) throw new UsageError(`${COMMAND}: --limit must be 1-10000, got ${limit}`, COMMAND);
    const sinceFlag = args.string('since');
    return withEnvironment(args, io, async (services, env) => {
      const since = sinceFlag === undefined ? undefined : parseSince(sinceFlag, services.clock.now());
      const username = args.string('user');
      const party = username === undefined ? undefined : ref.user((await services.admin.users.getByUsername(env.id, username)).id);
      const events = await services.store.audit.list({
        envId: env.id, limit, ...(types === undefined ? {} : { types }), ...(since === undefined ? {} : { since }), ...(party === undefined ? {} : { party }),
      });
      return {
        json: { events: events.map(auditEventJson) },
        text: events.length === 0
          ? ['No audit events match.']
          : table(['TIME', 'TYPE', 'OUTCOME', 'ACTOR', 'SUBJECT', 'SOURCE'], events.map((e) => [
            new Date(e.at).toISOString(), e.type, e.outcome, safe(e.actor ?? '-'), safe(e.subject ?? '-'),
            safe([e.source?.address, e.source?.country].filter((x) => x !== null && x !== undefined).join(' ') || '-'),
          ])),
      };
    });
  },
};
