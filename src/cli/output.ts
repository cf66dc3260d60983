// How records appear on the command line: JSON views (snake_case, no hashes, ISO times) and short
// tables for people. Every field is chosen here, so a secret or password hash cannot slip out.
import type { Client, Environment, IdentityProvider, User } from '../model/records.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

const scopeText = (scopes: readonly string[] | null): string | null => (scopes === null ? null : scopes.join(' '));

export function environmentJson(env: Environment): Record<string, unknown> {
  return {
    id: env.id, name: env.name, company_id: env.companyId, mfa_licensed: env.mfaLicensed,
    // README "Device policy": null is no limit.
    device_defaults: { networks: env.deviceDefaults.networks, scopes: scopeText(env.deviceDefaults.scopes) },
    password_sign_in: env.passwordSignIn,
    // README "Branding and languages": null is the product's own.
    branding: {
      display_name: env.branding.displayName, logo_url: env.branding.logoUrl, primary_color: env.branding.primaryColor, support_url: env.branding.supportUrl,
    },
    created_at: iso(env.createdAt),
  };
}

export function clientJson(client: Client): Record<string, unknown> {
  return {
    client_id: client.clientId,
    environment_id: client.envId,
    name: client.name,
    type: client.type,
    scope: client.scopes.join(' '),
    grant_types: client.grantTypes,
    code_lifetime: client.codeLifetime,
    poll_interval: client.pollInterval,
    token_lifetime: client.tokenLifetime,
    audience: client.audience,
    purpose: client.purpose,
    refresh: {
      always: client.refresh.always,
      rotation: client.type === 'public' || client.refresh.rotation,
      idle_seconds: client.refresh.idleSeconds,
      lifetime_seconds: client.refresh.absoluteSeconds,
    },
    // README "Device policy": networks and scopes null are the environment's defaults.
    device_policy: {
      networks: client.devicePolicy.networks,
      scopes: scopeText(client.devicePolicy.scopes),
      same_network: client.devicePolicy.sameNetwork,
    },
    created_at: iso(client.createdAt),
  };
}

export function userJson(user: User): Record<string, unknown> {
  return {
    id: user.id,
    environment_id: user.envId,
    username: user.username,
    email: user.email,
    // The OpenID Connect claims of the same names (OpenID Connect Core 1.0 §5.1).
    name: user.name,
    given_name: user.givenName,
    family_name: user.familyName,
    email_verified: user.emailVerified,
    // A federated person: the provider's name and their upstream `sub` (OpenID Connect Core §5.7).
    identity_provider: user.idpIssuer === null ? null : { issuer: user.idpIssuer, subject: user.idpSubject },
    disabled: user.disabled,
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
  };
}

/** A provider as `idp add|list` print it: never its secret, only whether it has one. */
export function identityProviderJson(p: IdentityProvider, redirectUri: string): Record<string, unknown> {
  return {
    name: p.name,
    display_name: p.displayName,
    issuer: p.issuer,
    client_id: p.clientId,
    public: p.clientSecretEnc === null,
    scope: p.scope,
    claims: { username: p.claims.username, email: p.claims.email, name: p.claims.name },
    redirect_uri: redirectUri,
  };
}

// Names come from whoever created the record: no control characters reach the terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text safe to print to a terminal. */
export function safe(text: string): string {
  return text.replace(CONTROL, '?');
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = [headers, ...rows].map((r) => r.map(safe));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

export function day(ms: number): string {
  return iso(ms).slice(0, 10);
}
