// Generated from src/client by scripts/build-client.ts: do not edit.
/** The QR code of `text`, ready to write to a terminal (lines end with '\n'). */
export declare function terminalQr(text: string): Promise<string>;
