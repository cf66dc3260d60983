// Generated from src/client by scripts/build-client.ts: do not edit.
// device-code-server/client: sign in from a terminal with the OAuth 2.0 device authorization grant
// (RFC 8628), against this server or any other that speaks it, learn who signed in from the
// validated ID token (OpenID Connect Core §3.1.3.7), and refresh the token later (RFC 6749 §6).
// Other packages import the checked-in JavaScript build (dist/client, made by
// scripts/build-client.ts); this repository imports the source.
export { DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, SLOW_DOWN_SECONDS, deviceLogin, pollForToken, startDeviceAuthorization, } from "./device-login.js";
export { discover } from "./discovery.js";
export { ID_TOKEN_CLOCK_TOLERANCE_SECONDS, validateIdToken } from "./id-token.js";
export { REFRESH_TOKEN_GRANT_TYPE, refreshToken } from "./refresh.js";
export { DeviceLoginError, isDeviceLoginError, printable } from "./errors.js";
export { terminalQr } from "./qr.js";
