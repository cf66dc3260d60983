// Records from rows, for both stores: the columns and their meanings are one schema in two
// dialects, so a row maps to a record the same way whichever database it came from.
import type {
  AdminKey, AppId, AuditEvent, AuditEventType, Authentication, Client, DeviceAuthorization, DeviceStatus, Environment, Flow, FlowStatus, Grant,
  IdentityProvider, RefreshTokenRecord, RegisteredDevice, RegistrationCode, RequestContext, SigningKeyRecord, User,
} from '../model/records.ts';
import type { DecisionRecord } from './store.ts';

/** A row as either driver returns it: column name to value. */
export type Row = Record<string, unknown>;

// Column readers, the only ones the stores use: the schemas guarantee the types (SQLite's STRICT
// tables; PostgreSQL's bigint arrives as a number, see postgres/db.ts typeParsers), so these only
// name them.
export const str = (v: unknown): string => v as string;
export const num = (v: unknown): number => v as number;
export const optNum = (v: unknown): number | null => (v === null ? null : (v as number));
export const optStr = (v: unknown): string | null => (v === null ? null : (v as string));
/** SQLite keeps booleans as 0/1, PostgreSQL as booleans. */
export const bool = (v: unknown): boolean => v === true || v === 1;
/** A JSON array of strings in a text column; NULL (no list) stays null. */
export const optList = (v: unknown): string[] | null => (v === null || v === undefined ? null : JSON.parse(v as string) as string[]);
/** The column value of an optional list. */
export const listColumn = (list: readonly string[] | null): string | null => (list === null ? null : JSON.stringify(list));

export const toAdminKey = (r: Row): AdminKey => ({
  accessId: str(r.access_id),
  envId: str(r.env_id),
  description: str(r.description),
  role: r.role === 'super_admin' ? 'super_admin' : 'helpdesk_admin',
  publicKeyPem: str(r.public_key),
  createdAt: num(r.created_at),
  revokedAt: optNum(r.revoked_at),
});

export const toAuditEvent = (r: Row): AuditEvent => ({
  id: str(r.id),
  at: num(r.at),
  envId: str(r.env_id),
  type: str(r.type) as AuditEventType,
  actor: optStr(r.actor),
  subject: optStr(r.subject),
  source: r.source === null ? null : JSON.parse(str(r.source)) as RequestContext,
  outcome: r.outcome === 'failure' ? 'failure' : 'success',
  details: JSON.parse(str(r.details)) as Record<string, unknown>,
});

/** An event's columns in the order of INSERT INTO audit_events (id, env_id, at, type, actor, subject, source, outcome, details). */
export function auditEventColumns(e: AuditEvent): [string, string, number, string, string | null, string | null, string | null, string, string] {
  return [e.id, e.envId, e.at, e.type, e.actor, e.subject, e.source === null ? null : JSON.stringify(e.source), e.outcome, JSON.stringify(e.details)];
}

export const toAppId = (r: Row): AppId => ({
  envId: str(r.env_id),
  appId: str(r.app_id),
  name: str(r.name),
  createdAt: num(r.created_at),
});

export const toClient = (r: Row): Client => ({
  envId: str(r.env_id),
  clientId: str(r.client_id),
  name: str(r.name),
  type: r.type === 'confidential' ? 'confidential' : 'public',
  secretHash: optStr(r.secret_hash),
  grantTypes: JSON.parse(str(r.grant_types)) as string[],
  scopes: JSON.parse(str(r.scopes)) as string[],
  codeLifetime: num(r.code_lifetime),
  pollInterval: num(r.poll_interval),
  tokenLifetime: num(r.token_lifetime),
  audience: optStr(r.audience),
  purpose: r.purpose === 'account' ? 'account' : null,
  refresh: {
    always: bool(r.refresh_always),
    rotation: bool(r.refresh_rotation),
    idleSeconds: num(r.refresh_idle_seconds),
    absoluteSeconds: num(r.refresh_absolute_seconds),
  },
  devicePolicy: {
    networks: optList(r.device_networks),
    scopes: optList(r.device_scopes),
    sameNetwork: bool(r.same_network),
  },
  createdAt: num(r.created_at),
});

/** The auth_time, auth_amr (a JSON array) and auth_acr columns of flows, device authorizations and grants. */
const toAuthentication = (r: Row): Authentication | null => (r.auth_time === null || r.auth_time === undefined ? null : {
  time: num(r.auth_time),
  amr: JSON.parse(optStr(r.auth_amr) ?? '[]') as string[],
  acr: optStr(r.auth_acr),
});

/** The three columns of an Authentication, in that order, for an INSERT or UPDATE. */
export function authenticationColumns(a: Authentication | null): [number | null, string | null, string | null] {
  return a === null ? [null, null, null] : [a.time, JSON.stringify(a.amr), a.acr];
}

/**
 * The parameters of a conditional write of the three columns: time, amr, then the "is set" marker
 * and acr (the statement keeps the old acr when the marker is null, for acr itself may be null).
 */
export function authPatch(a: Authentication | undefined): [number | null, string | null, number | null, string | null] {
  return a === undefined ? [null, null, null, null] : [a.time, JSON.stringify(a.amr), a.time, a.acr];
}

/** The five columns of a RequestContext, `request_…` or `approver_…` (migration 009); null when all are. */
function toContext(r: Row, prefix: 'request' | 'approver'): RequestContext | null {
  const c: RequestContext = {
    address: optStr(r[`${prefix}_address`] ?? null),
    userAgent: optStr(r[`${prefix}_user_agent`] ?? null),
    country: optStr(r[`${prefix}_country`] ?? null),
    asn: optNum(r[`${prefix}_asn`] ?? null),
    network: optStr(r[`${prefix}_network`] ?? null),
  };
  return Object.values(c).every((v) => v === null) ? null : c;
}

/** A RequestContext's five columns in their order (address, user_agent, country, asn, network), for an INSERT or UPDATE. */
export function contextColumns(c: RequestContext | null): [string | null, string | null, string | null, number | null, string | null] {
  return c === null ? [null, null, null, null, null] : [c.address, c.userAgent, c.country, c.asn, c.network];
}

/**
 * The seven columns a decision records (approver_address … approver_network, location_mismatch,
 * reported_at), in that order; `bool` is the store's boolean (SQLite 0/1, PostgreSQL boolean).
 */
export function decisionColumns<B>(
  record: DecisionRecord | undefined, now: number, bool: (b: boolean) => B,
): [...ReturnType<typeof contextColumns>, B, number | null] {
  return [...contextColumns(record?.approver ?? null), bool(record?.locationMismatch ?? false), record?.reported === true ? now : null];
}

export const toDevice = (r: Row): DeviceAuthorization => ({
  id: str(r.id),
  envId: str(r.env_id),
  clientId: str(r.client_id),
  deviceCodeHash: str(r.device_code_hash),
  userCodeHash: str(r.user_code_hash),
  scope: str(r.scope),
  status: str(r.status) as DeviceStatus,
  expiresAt: num(r.expires_at),
  interval: num(r.interval),
  lastPolledAt: optNum(r.last_polled_at),
  userId: optStr(r.user_id),
  createdAt: num(r.created_at),
  decidedAt: optNum(r.decided_at),
  authentication: toAuthentication(r),
  sourceNetwork: optStr(r.source_network),
  grantId: optStr(r.grant_id),
  requestContext: toContext(r, 'request'),
  approverContext: toContext(r, 'approver'),
  locationMismatch: bool(r.location_mismatch),
  reportedAt: optNum(r.reported_at ?? null),
});

export const toEnvironment = (r: Row): Environment => ({
  id: str(r.id),
  name: str(r.name),
  companyId: str(r.company_id),
  mfaLicensed: bool(r.mfa_licensed),
  deviceDefaults: { networks: optList(r.device_networks), scopes: optList(r.device_scopes) },
  passwordSignIn: bool(r.password_sign_in),
  branding: {
    displayName: optStr(r.display_name ?? null), logoUrl: optStr(r.logo_url ?? null),
    primaryColor: optStr(r.primary_color ?? null), supportUrl: optStr(r.support_url ?? null),
  },
  createdAt: num(r.created_at),
});

export const toFlow = (r: Row): Flow => ({
  id: str(r.id),
  envId: str(r.env_id),
  clientId: optStr(r.client_id),
  status: str(r.status) as FlowStatus,
  browserHash: str(r.browser_hash),
  userId: optStr(r.user_id),
  deviceId: optStr(r.device_id),
  userCodeEnc: optStr(r.user_code_enc),
  authentication: toAuthentication(r),
  idpStateHash: optStr(r.idp_state_hash ?? null),
  idpPendingEnc: optStr(r.idp_pending ?? null),
  failedAttempts: num(r.failed_attempts),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
  expiresAt: num(r.expires_at),
});

/** A RequestContext kept as one JSON column (grants). */
const toJsonContext = (v: unknown): RequestContext | null => (v === null || v === undefined ? null : JSON.parse(str(v)) as RequestContext);

export const contextJson = (c: RequestContext | null): string | null => (c === null ? null : JSON.stringify(c));

export const toGrant = (r: Row): Grant => ({
  id: str(r.id),
  envId: str(r.env_id),
  userId: str(r.user_id),
  clientId: str(r.client_id),
  kind: r.kind === 'session' ? 'session' : 'device',
  scope: str(r.scope),
  createdAt: num(r.created_at),
  lastUsedAt: num(r.last_used_at),
  idleExpiresAt: num(r.idle_expires_at),
  absoluteExpiresAt: num(r.absolute_expires_at),
  revokedAt: optNum(r.revoked_at),
  authentication: toAuthentication(r),
  requestContext: toJsonContext(r.request_context),
  lastUsedContext: toJsonContext(r.last_used_context),
});

export const toIdentityProvider = (r: Row): IdentityProvider => ({
  envId: str(r.env_id),
  name: str(r.name),
  displayName: str(r.display_name),
  issuer: str(r.issuer),
  clientId: str(r.client_id),
  clientSecretEnc: optStr(r.client_secret_enc),
  scope: str(r.scope),
  claims: { username: str(r.claim_username), email: str(r.claim_email), name: str(r.claim_name) },
  createdAt: num(r.created_at),
});

/**
 * A provider's columns in the order of INSERT INTO identity_providers (env_id, name, display_name,
 * issuer, client_id, client_secret_enc, scope, claim_username, claim_email, claim_name, created_at).
 */
export function identityProviderColumns(p: IdentityProvider): [string, string, string, string, string, string | null, string, string, string, string, number] {
  return [p.envId, p.name, p.displayName, p.issuer, p.clientId, p.clientSecretEnc, p.scope, p.claims.username, p.claims.email, p.claims.name, p.createdAt];
}

/** A guess budget's count query (`count(*) AS n, min(at) AS oldest`); no row reads as no guesses. */
export const toGuessCount = (r: Row | undefined): { count: number; oldest: number | null } => ({
  count: num(r?.n ?? 0),
  oldest: optNum(r?.oldest ?? null),
});

/**
 * A refresh token joined to its grant, as RefreshTokenStore.find reads it in one statement: the
 * grant's columns as toGrant reads them, and the token's own, with status and created_at aliased
 * token_status and token_created_at (grants has a created_at too).
 */
export const toRefreshTokenAndGrant = (r: Row): { token: RefreshTokenRecord; grant: Grant } => ({
  token: {
    tokenHash: str(r.token_hash),
    grantId: str(r.grant_id),
    status: r.token_status === 'rotated' || r.token_status === 'superseded' ? r.token_status : 'active',
    createdAt: num(r.token_created_at),
    rotatedAt: optNum(r.rotated_at),
  },
  grant: toGrant(r),
});

export const toRegistrationCode = (r: Row): RegistrationCode => ({
  userId: str(r.user_id),
  envId: str(r.env_id),
  codeHash: str(r.code_hash),
  appId: str(r.app_id),
  expiresAt: num(r.expires_at),
  createdAt: num(r.created_at),
});

export const toRegisteredDevice = (r: Row): RegisteredDevice => ({
  id: str(r.id),
  envId: str(r.env_id),
  userId: str(r.user_id),
  appId: str(r.app_id),
  deviceName: str(r.device_name),
  platform: str(r.platform),
  registeredAt: num(r.registered_at),
});

export const toKey = (r: Row): SigningKeyRecord => ({
  kid: str(r.kid),
  envId: str(r.env_id),
  alg: r.alg === 'RS256' ? 'RS256' : 'ES256',
  publicJwk: str(r.public_jwk),
  privateJwkEnc: str(r.private_jwk_enc),
  status: r.status === 'retired' ? 'retired' : 'active',
  createdAt: num(r.created_at),
  retiredUntil: optNum(r.retired_until),
});

export const toUser = (r: Row): User => ({
  id: str(r.id),
  envId: str(r.env_id),
  username: str(r.username),
  email: str(r.email),
  passwordHash: str(r.password_hash),
  disabled: bool(r.disabled),
  name: optStr(r.name),
  givenName: optStr(r.given_name),
  familyName: optStr(r.family_name),
  emailVerified: bool(r.email_verified),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
  idpIssuer: optStr(r.idp_issuer),
  idpSubject: optStr(r.idp_subject),
});
