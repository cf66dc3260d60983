// device-code-server/client: sign in from a terminal with the OAuth 2.0 device authorization grant
// (RFC 8628), against this server or any other that speaks it, learn who signed in from the
// validated ID token (OpenID Connect Core §3.1.3.7), and refresh the token later (RFC 6749 §6).
// Other packages import the checked-in JavaScript build (dist/client, made by
// scripts/build-client.ts); this repository imports the source.
export {
  DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, SLOW_DOWN_SECONDS, deviceLogin, pollForToken, startDeviceAuthorization,
  type DeviceAuthorization, type DeviceLoginOptions, type DeviceLoginResult, type PollEvent, type PollOptions, type StartOptions,
  type TokenResponse, type UserCodePrompt,
} from './device-login.ts';
export { discover, type AuthorizationServerMetadata } from './discovery.ts';
export { ID_TOKEN_CLOCK_TOLERANCE_SECONDS, validateIdToken, type IdTokenClaims, type ValidateIdTokenOptions } from './id-token.ts';
export { REFRESH_TOKEN_GRANT_TYPE, refreshToken, type RefreshTokenOptions, type RefreshTokenResult } from './refresh.ts';
export type { ClientCredentials, Clock, FetchLike, Sleep, TransportOptions } from './transport.ts';
export { DeviceLoginError, isDeviceLoginError, printable, type DeviceLoginErrorCode, type DeviceLoginErrorOptions } from './errors.ts';
export { terminalQr } from './qr.ts';
