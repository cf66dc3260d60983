// Generated from src/client by scripts/build-client.ts: do not edit.
// device-code-server/client: sign in from a terminal with the OAuth 2.0 device authorization grant
// (RFC 8628), against this server or any other that speaks it. Other packages import the checked-in
// JavaScript build (dist/client, made by scripts/build-client.ts); this repository imports the source.
export { DEFAULT_INTERVAL_SECONDS, DEVICE_CODE_GRANT_TYPE, SLOW_DOWN_SECONDS, deviceLogin, discover, pollForToken, startDeviceAuthorization, } from "./device-login.js";
export { DeviceLoginError, isDeviceLoginError, printable } from "./errors.js";
export { terminalQr } from "./qr.js";
