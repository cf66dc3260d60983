// The device-policy flags of `client create|update` and `env update` (README "Device policy"):
// networks and scopes are read and checked here, before anything is opened, so a typo is a usage
// error naming the flag and the bad value; the engine checks them again (src/core/admin.ts).
import { isCoreError } from '../core/errors.ts';
import { canonicalCidrList } from '../core/networks.ts';
import { isValidScopeToken, parseScopeList } from '../core/scopes.ts';
import { UsageError, type Args, type FlagSpec } from './args.ts';

export const DEVICE_NETWORKS_FLAG: FlagSpec = {
  type: 'string',
  placeholder: 'cidr,…',
  description: 'Device authorizations only from these networks (IPv4/IPv6 CIDRs or addresses, comma-separated)',
};
export const DEVICE_SCOPES_FLAG: FlagSpec = {
  type: 'string',
  placeholder: 's1 s2',
  description: 'The most a device login may ask for (space-separated; asking more is invalid_scope)',
};
export const SAME_NETWORK_FLAG: FlagSpec = {
  type: 'boolean',
  description: 'The approver must be on the device\'s network (the same IPv4 address or IPv6 /64)',
};

/**
 * `--device-networks`: the networks as given (canonical form is the engine's), or null for
 * `reset` (the word that drops a setting: `default` on a client, `any` on an environment).
 */
export function networksFlag(args: Args, reset?: string): string[] | null | undefined {
  const value = args.string('device-networks');
  if (value === undefined) return undefined;
  if (reset !== undefined && value.trim() === reset) return null;
  const items = value.split(/[\s,]+/).filter((s) => s !== '');
  try {
    canonicalCidrList(items);
  } catch (err) {
    if (isCoreError(err)) throw new UsageError(`${args.command}: --device-networks: ${err.message}`, args.command);
    throw err;
  }
  return items;
}

/** `--device-scopes`: the scopes as given, or null for `reset`; malformed scope tokens are usage errors. */
export function scopesFlag(args: Args, reset?: string): string | null | undefined {
  const value = args.string('device-scopes');
  if (value === undefined) return undefined;
  if (reset !== undefined && value.trim() === reset) return null;
  const scopes = parseScopeList(value.trim());
  const bad = scopes.find((s) => !isValidScopeToken(s));
  if (scopes.length === 0 || bad !== undefined) {
    throw new UsageError(`${args.command}: --device-scopes: ${bad === undefined ? 'name at least one scope' : `"${bad}" is not a scope (RFC 6749 §3.3)`}`, args.command);
  }
  return scopes.join(' ');
}
