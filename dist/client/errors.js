// Generated from src/client by scripts/build-client.ts: do not edit.
// The one error type of the device-login client. `code` is closed, so callers can switch on it; the
// message is one line meant for a person and never carries a secret (no device code, client secret
// or token), only what the server said about itself.
export class DeviceLoginError extends Error {
    name = 'DeviceLoginError';
    code;
    oauthError;
    status;
    constructor(code, message, opts = {}) {
        super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
        this.code = code;
        this.oauthError = opts.oauthError;
        this.status = opts.status;
    }
}
export function isDeviceLoginError(err) {
    return err instanceof DeviceLoginError;
}
// Whatever a server sends may end up on a terminal: no control characters, and not a novel.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** Text from the server, made safe to put in a message or on a terminal. */
export function printable(text, max = 200) {
    const clean = text.replace(CONTROL, ' ').trim();
    return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
