// Device policy (README "Device policy"): where a client's device authorizations may come from,
// the most a device login may ask for, and whether its approver must be on the device's network.
// Against remote phishing (RFC 8628 §5.4): a code requested from the attacker's network, or for
// more than the device needs, is refused before anyone can be talked into approving it. A client's
// own networks and scopes win; without them the environment's defaults apply; without those, none.
import type { Client, Environment } from '../model/records.ts';
import { CoreError } from './errors.ts';
import { inNetworks } from './networks.ts';
import { parseScopeList, resolveScope } from './scopes.ts';

/** The networks device authorizations of the client must come from; null: any. */
export function deviceNetworks(env: Environment, client: Client): string[] | null {
  return client.devicePolicy.networks ?? env.deviceDefaults.networks;
}

/** The most a device login of the client may ask for; null: its scopes. */
export function deviceScopeCeiling(env: Environment, client: Client): string[] | null {
  return client.devicePolicy.scopes ?? env.deviceDefaults.scopes;
}

/**
 * Refuses a device authorization whose source address is outside the client's networks (an
 * unknown address too: the policy cannot be checked, so it is not passed).
 */
export function assertDeviceNetwork(env: Environment, client: Client, address: string | null): void {
  const networks = deviceNetworks(env, client);
  if (networks === null) return;
  if (address === null || !inNetworks(address, networks)) {
    throw new CoreError('unauthorized_client', 'this client may not start device logins from the device\'s network');
  }
}

/**
 * The scope of a device authorization (RFC 6749 §3.3): the request within the client's scopes and
 * the device ceiling; omitted, every scope of the client the ceiling allows.
 */
export function resolveDeviceScope(env: Environment, client: Client, requested: string | undefined): string {
  const ceiling = deviceScopeCeiling(env, client);
  if (ceiling === null) return resolveScope(client, requested);
  if (requested === undefined || requested.trim() === '') {
    const allowed = client.scopes.filter((s) => ceiling.includes(s));
    if (allowed.length === 0) throw new CoreError('invalid_scope', 'this client\'s device logins may ask for none of its scopes');
    return allowed.join(' ');
  }
  const scope = resolveScope(client, requested);
  const beyond = parseScopeList(scope).filter((s) => !ceiling.includes(s));
  if (beyond.length > 0) throw new CoreError('invalid_scope', `scope beyond what this client's device logins may ask for: ${beyond.join(' ').slice(0, 200)}`);
  return scope;
}

/** True while the scope is still within the client's scopes and the device ceiling (re-checked at redemption). */
export function deviceScopeAllowed(env: Environment, client: Client, scope: string): boolean {
  const ceiling = deviceScopeCeiling(env, client);
  return parseScopeList(scope).every((s) => client.scopes.includes(s) && (ceiling === null || ceiling.includes(s)));
}
