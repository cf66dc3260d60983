// The RSA device-registration facade's records (docs/vendors.md): admin API keys, the authenticator
// applications, one-time registration codes and the registered devices.

/** RSA Cloud Administration roles (docs/vendors.md): both issue codes and look users up; only super admins delete devices. */
export const ADMIN_ROLES = ['super_admin', 'helpdesk_admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** An RSA-style admin API key: the server keeps only the public half. */
export interface AdminKey {
  accessId: string;
  envId: string;
  description: string;
  role: AdminRole;
  /** SPKI PEM of the RSA public key that verifies the admin's JWTs. */
  publicKeyPem: string;
  createdAt: number;
  revokedAt: number | null;
}

/** An authenticator application that may register devices (beside the built-in RSA Authenticator). */
export interface AppId {
  envId: string;
  appId: string;
  name: string;
  createdAt: number;
}

/** A one-time device registration code (9 digits), stored only as a keyed hash; one live code per user. */
export interface RegistrationCode {
  userId: string;
  envId: string;
  codeHash: string;
  appId: string;
  expiresAt: number;
  createdAt: number;
}

/** A user's registered authenticator device: at most one per user (a UNIQUE index holds the rule). */
export interface RegisteredDevice {
  id: string;
  envId: string;
  userId: string;
  appId: string;
  deviceName: string;
  platform: string;
  registeredAt: number;
}
