// Requests too malformed for the HTTP parser (a body cut short, oversized headers, a timeout) never
// reach routing. They are answered straight on the socket, in the shape of the front end whose
// prefix the request line names when one claims it with a raw renderer (the page answers HTML),
// else in the server's native RFC 6749 format. A HEAD request gets the status and headers only.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { RawError, WireFormats } from './wire-format.ts';

function nativeRaw(_status: number, description: string): RawError {
  return { contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error: 'invalid_request', error_description: description }) };
}

/**
 * Method and path from the bytes the parser saw: enough of the request line to tell whose prefix it
 * names, even when the line is cut short (a 100 KB URL), malformed after the path (a bad version,
 * stray bytes) or in absolute form (`GET http://host/device`). The query and anything after the
 * path (a control character included) are ignored; a path longer than the prefixes need is cut.
 */
function requestLine(raw: unknown): { method: string; path: string } | undefined {
  if (!Buffer.isBuffer(raw)) return undefined;
  // eslint-disable-next-line no-control-regex -- a control character ends the path the parser refused
  const m = /^([A-Z]{3,10}) (?:https?:\/\/[^/\s]{0,255})?(\/[^\s?#\x00-\x1f\x7f]{0,2048})/.exec(raw.subarray(0, 2400).toString('latin1'));
  return m?.[1] === undefined || m[2] === undefined ? undefined : { method: m[1], path: m[2] };
}

export function clientErrorHandler(formats: WireFormats) {
  return (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, description] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'the request took too long to arrive']
      : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'request headers are too large']
      : [400, 'malformed HTTP request'];
    const line = requestLine(err.rawPacket);
    const render = (line === undefined ? undefined : formats.find(line.path)?.raw) ?? nativeRaw;
    const answer = render(status, description, line?.path ?? '/');
    const body = line?.method === 'HEAD' ? '' : answer.body;
    const extra = Object.entries(answer.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${answer.contentType}\r\n${extra}`
        + `Content-Length: ${Buffer.byteLength(answer.body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy(err);
  };
}
