// device-code-server/client: sign in from a terminal with the OAuth 2.0 device authorization grant
// (RFC 8628), against this server or any other that speaks it, and refresh the token later (RFC 6749
// §6). Other packages import the checked-in JavaScript build (dist/client, made by
// scripts/build-client.ts); this repository imports the source.
export {
  DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, SLOW_DOWN_SECONDS, deviceLogin, pollForToken, startDeviceAuthorization,
  type DeviceAuthorization, type DeviceLoginOptions, type DeviceLoginResult, type PollEvent, type PollOptions, type StartOptions,
  type TokenResponse, type UserCodePrompt,
} from './device-login.ts';
export { discover, type AuthorizationServerMetadata } from './discovery.ts';
export { REFRESH_TOKEN_GRANT_TYPE, refreshToken, type RefreshTokenOptions, type RefreshTokenResult } from './refresh.ts';
export type { ClientCredentials, Clock, FetchLike, Sleep, TransportOptions } from './transport.ts';
export { DeviceLoginError, isDeviceLoginError, printable, type DeviceLoginErrorCode, type DeviceLoginErrorOptions } from './errors.ts';
export { terminalQr } from './qr.ts';
