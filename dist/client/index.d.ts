// Generated from src/client by scripts/build-client.ts: do not edit.
export { DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE, SLOW_DOWN_SECONDS, deviceLogin, discover, pollForToken, refreshToken, startDeviceAuthorization, type AuthorizationServerMetadata, type ClientCredentials, type Clock, type DeviceAuthorization, type DeviceLoginOptions, type DeviceLoginResult, type FetchLike, type PollEvent, type PollOptions, type RefreshTokenOptions, type RefreshTokenResult, type Sleep, type StartOptions, type TokenResponse, type TransportOptions, type UserCodePrompt, } from "./device-login.js";
export { DeviceLoginError, isDeviceLoginError, printable, type DeviceLoginErrorCode, type DeviceLoginErrorOptions } from "./errors.js";
export { terminalQr } from "./qr.js";
