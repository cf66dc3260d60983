// The verification URL as a QR code for a terminal: half-block characters (two modules per
// character cell) with ANSI colours, so a phone can scan it off the screen. Only for TTYs: the
// output is full of escape sequences.
import QRCode from 'qrcode';

/** The QR code of `text`, ready to write to a terminal (lines end with '\n'). */
export async function terminalQr(text: string): Promise<string> {
  // Level L keeps the code smallest; a screen is not a crumpled label, it needs little redundancy.
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
}
