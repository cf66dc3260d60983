// device-code-server/client: sign in from a terminal with the OAuth 2.0 device authorization grant
// (RFC 8628), against this server or any other that speaks it, and refresh the token later (RFC 6749
// §6). Other packages import the checked-in JavaScript build (dist/client, made by
// scripts/build-client.ts); this repository imports the source.
export {
  DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE, SLOW_DOWN_SECONDS,
  deviceLogin, discover, pollForToken, refreshToken, startDeviceAuthorization,
  type AuthorizationServerMetadata, type ClientCredentials, type Clock, type DeviceAuthorization, type DeviceLoginOptions,
  type DeviceLoginResult, type FetchLike, type PollEvent, type PollOptions, type RefreshTokenOptions, type RefreshTokenResult,
  type Sleep, type StartOptions, type TokenResponse, type TransportOptions, type UserCodePrompt,
} from './device-login.ts';
export { DeviceLoginError, isDeviceLoginError, printable, type DeviceLoginErrorCode, type DeviceLoginErrorOptions } from './errors.ts';
export { terminalQr } from './qr.ts';
