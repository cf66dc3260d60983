// What the administration accepts (core/admin.ts): the inputs of its operations, and the checks
// each value passes once before it is stored.
import type { DevicePolicy, IdentityProvider } from '../model/records.ts';
import type { UserProfilePatch } from '../store/store.ts';
import { CoreError } from './errors.ts';
import { canonicalCidrList } from './networks.ts';
import { isValidScopeToken, parseScopeList } from './scopes.ts';

export interface NewClient {
  envId: string;
  name: string;
  confidential?: boolean;
  scope?: string;
  codeLifetime?: number;
  pollInterval?: number;
  tokenLifetime?: number;
  audience?: string | null;
  /** Allow the refresh_token grant (RFC 6749 §6); offline_access joins the client's scopes. */
  refreshTokens?: boolean;
  /** With refreshTokens: issue one with every token, not only for offline_access. */
  refreshAlways?: boolean;
  /** Confidential clients only: keep one refresh token instead of rotating it on every use. */
  noRotation?: boolean;
  refreshIdleSeconds?: number;
  refreshLifetimeSeconds?: number;
  /** Device policy (README "Device policy"): networks as written (CIDRs or addresses), scopes space-separated. */
  deviceNetworks?: readonly string[];
  deviceScopes?: string;
  sameNetwork?: boolean;
}

/**
 * What Admin.updateClient changes: an absent field stays as it is. `deviceNetworks` and
 * `deviceScopes` set to null drop the client's own, so the environment's default applies again.
 */
export interface ClientUpdate {
  name?: string;
  /** true: allow the refresh_token grant from now on, offline_access joining the scopes (never turned off here). */
  refreshTokens?: boolean;
  codeLifetime?: number;
  pollInterval?: number;
  tokenLifetime?: number;
  refreshIdleSeconds?: number;
  refreshLifetimeSeconds?: number;
  deviceNetworks?: readonly string[] | null;
  deviceScopes?: string | null;
  sameNetwork?: boolean;
}

/** What Admin.setDeviceDefaults changes: an absent field stays; null lifts the limit. */
export interface DeviceDefaultsUpdate {
  deviceNetworks?: readonly string[] | null;
  deviceScopes?: string | null;
}

export interface NewUser {
  envId: string;
  username: string;
  email: string;
  password: string;
  /**
   * OpenID Connect profile attributes (OpenID Connect Core 1.0 §5.1), null when not given. A full
   * name is never split into given and family names: how a name divides is not knowable from it.
   */
  name?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  /** Someone vouched that the address reaches this person (`email_verified`); false when not given. */
  emailVerified?: boolean;
}

/** What Admin.updateUser changes: an absent field stays as it is, a name set to null is cleared. */
export type UserUpdate = UserProfilePatch;

/** An upstream OpenID Provider for Admin.addIdentityProvider (README "Command line"). */
export interface NewIdentityProvider {
  /** A slug, [a-z0-9-] 1-40, unique in the environment. */
  name: string;
  /** The button's label (default: the name). */
  displayName?: string;
  issuer: string;
  clientId: string;
  /** The upstream client secret, stored encrypted; null for a public client (PKCE only). */
  clientSecret: string | null;
  /** Space-separated, openid among them (default "openid email profile"). */
  scope?: string;
  /** The upstream claims that fill username, email and name; those not given keep their defaults. */
  claims?: Partial<IdentityProvider['claims']>;
}

export const usernamePattern = /^[\p{L}\p{N}._@+-]{1,128}$/u;
const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
/** Longest name, given name or family name, in characters (code points). */
export const PROFILE_NAME_MAX = 200;
const controlCharacter = /\p{Cc}/u;
/** 1-200 code points (the `u` flag counts a character outside the BMP once). */
const profileNameLength = new RegExp(`^.{1,${PROFILE_NAME_MAX}}$`, 'su');

export function validEmail(input: string): string {
  const email = input.trim();
  if (!emailPattern.test(email)) throw new CoreError('invalid_request', 'email is not an email address', { target: 'email' });
  return email;
}

/**
 * A profile name as stored: trimmed, 1-200 characters, no control characters (names end up in ID
 * tokens, UserInfo answers and terminals). Undefined (leave as is) and null (clear) pass through.
 */
export function profileName(label: string, target: string, input: string | null | undefined): string | null | undefined {
  if (input === undefined || input === null) return input;
  if (controlCharacter.test(input)) throw new CoreError('invalid_request', `${label} must not contain control characters`, { target });
  const name = input.trim();
  if (!profileNameLength.test(name)) {
    throw new CoreError('invalid_request', `${label} must be 1-${PROFILE_NAME_MAX} characters`, { target });
  }
  return name;
}

export function inRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CoreError('invalid_request', `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function clientName(input: string): string {
  const name = input.trim();
  if (name.length === 0 || name.length > 200) throw new CoreError('invalid_request', 'name must be 1-200 characters');
  return name;
}

/**
 * The most a device login may ask for: well-formed scope tokens, at least one, and (for a client)
 * only scopes the client has: a ceiling above them would promise what can never be granted.
 */
export function deviceScopeList(input: string, clientScopes?: readonly string[]): string[] {
  const scopes = parseScopeList(input);
  if (scopes.length === 0) throw new CoreError('invalid_scope', 'device scopes: name at least one scope');
  const malformed = scopes.find((s) => !isValidScopeToken(s));
  if (malformed !== undefined) throw new CoreError('invalid_scope', `device scopes: "${malformed}" is not a scope (RFC 6749 §3.3)`);
  const foreign = clientScopes === undefined ? [] : scopes.filter((s) => !clientScopes.includes(s));
  if (foreign.length > 0) {
    throw new CoreError('invalid_scope', `device scopes must be among the client's scopes (${clientScopes?.join(' ') ?? ''}); not: ${foreign.join(' ')}`);
  }
  return scopes;
}

/** A client's device policy from the given options; `current` for what they leave as it is. */
export function devicePolicy(input: ClientUpdate, scopes: readonly string[], current: DevicePolicy): DevicePolicy {
  const networks = input.deviceNetworks === undefined ? current.networks : input.deviceNetworks === null ? null : canonicalCidrList(input.deviceNetworks);
  const deviceScopes = input.deviceScopes === undefined ? current.scopes : input.deviceScopes === null ? null : deviceScopeList(input.deviceScopes, scopes);
  return { networks, scopes: deviceScopes, sameNetwork: input.sameNetwork ?? current.sameNetwork };
}
