// GET /device/qr.svg?user_code=…, /{envID}/device/qr.svg?user_code=…: the environment's
// verification_uri_complete as an SVG QR code, for device screens that cannot draw one (RFC 8628 §3.3.1).
// The code is not looked up: any well-formed code gets its QR code, so the answer says nothing
// about which codes exist. It is normalised to its display form (XXXX-XXXX) first; text that
// cannot be a code is a 400 page rather than a QR code that leads nowhere.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import QRCode from 'qrcode';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { formatUserCode, normalizeUserCode } from '../../crypto/codes.ts';
import { envIdParam, text } from '../../http/params.ts';
import type { Services } from '../../services.ts';
import { page, pageRefusals } from './responses.ts';

export const QR_PATH = '/device/qr.svg';

/** No script, style or anything else may run or load in the SVG, and no page may frame it (an <img> may show it). */
export const QR_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

const qrQuery = z.object({ user_code: text(64).describe('The user code; case, spaces and dashes are ignored (WDJB-MJHT, wdjbmjht)') });

/** The QR routes of the page plugin; they answer errors as the page does (HTML). */
export function qrRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const variants = [
    { url: QR_PATH, params: undefined, operationId: 'getVerificationQrCode' },
    // Static `qr.svg` wins over /:envId/device/:clientId in the router: no application is named so.
    { url: `/:envId${QR_PATH}`, params: z.object({ envId: envIdParam }), operationId: 'getVerificationQrCodeInEnvironment' },
  ];
  for (const v of variants) {
    r.get(v.url, {
      schema: {
        tags: ['page'],
        operationId: v.operationId,
        summary: 'The verification_uri_complete for a user code as an SVG QR code, for device screens',
        description: 'The code is not looked up. Cache-Control: public, max-age=300; a CSP forbids scripts in the SVG.',
        ...(v.params ? { params: v.params } : {}),
        querystring: qrQuery,
        produces: ['text/html'],
        response: {
          200: { description: 'SVG: the QR code of {verification_uri}?user_code=XXXX-XXXX', content: { 'image/svg+xml': { schema: z.string() } } },
          400: page('user_code is missing, malformed, or cannot be a user code'),
          ...(v.params ? { 404: page('no such environment') } : {}),
          ...pageRefusals,
        },
      },
      handler: async (request, reply) => {
        const canonical = normalizeUserCode(request.query.user_code, services.config.userCode);
        if (canonical === undefined) throw new CoreError('invalid_request', 'user_code is not a user code', { target: 'user_code' });
        const uri = `${request.envUrls.verificationUri}?user_code=${encodeURIComponent(formatUserCode(canonical))}`;
        // Level M survives a smudged or glare-struck screen; the margin is the 4-module quiet zone scanners need.
        const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
        return reply
          .header('cache-control', 'public, max-age=300')
          .header('content-security-policy', QR_CSP)
          .header('x-content-type-options', 'nosniff')
          .type('image/svg+xml; charset=utf-8')
          .send(svg);
      },
    });
  }
}
