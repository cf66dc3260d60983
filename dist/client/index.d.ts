// Generated from src/client by scripts/build-client.ts: do not edit.
export { DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, SLOW_DOWN_SECONDS, deviceLogin, pollForToken, startDeviceAuthorization, type DeviceAuthorization, type DeviceLoginOptions, type DeviceLoginResult, type PollEvent, type PollOptions, type StartOptions, type TokenResponse, type UserCodePrompt, } from "./device-login.js";
export { discover, type AuthorizationServerMetadata } from "./discovery.js";
export { ID_TOKEN_CLOCK_TOLERANCE_SECONDS, validateIdToken, type IdTokenClaims, type ValidateIdTokenOptions } from "./id-token.js";
export { REFRESH_TOKEN_GRANT_TYPE, refreshToken, type RefreshTokenOptions, type RefreshTokenResult } from "./refresh.js";
export type { ClientCredentials, Clock, FetchLike, Sleep, TransportOptions } from "./transport.js";
export { DeviceLoginError, isDeviceLoginError, printable, type DeviceLoginErrorCode, type DeviceLoginErrorOptions } from "./errors.js";
export { terminalQr } from "./qr.js";
