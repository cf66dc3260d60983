// GET /device[?user_code=], /{envID}/device[/{clientId}]: the address devices show. It starts a
// verification flow bound to this browser and redirects (302) to the page that renders it; a custom
// UI may call it too and read the flowId from Location (docs/vendors.md). `?view=devices` starts one
// that shows "Your devices" after sign-in instead of the code step; `?idp=<name>` goes straight to
// that identity provider's sign-in (a link an organisation hands out, README "Sign in with your organisation").
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ensureBrowserSecret } from '../../http/browser.ts';
import { envIdParam, text } from '../../http/params.ts';
import type { Services } from '../../services.ts';
import { langQuery } from './context.ts';
import { page, pageRefusals } from './responses.ts';

const deviceQuery = z.object({
  user_code: text(64).optional(),
  view: z.enum(['devices']).optional().describe('`devices`: after sign-in, show "Your devices" instead of the code step'),
  idp: text(40).optional().describe('the name of one of the environment\'s identity providers: go straight to it to sign in'),
  lang: langQuery,
});

export function entryRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const starts = [
    { url: '/device', params: undefined, operationId: 'startVerification' },
    { url: '/:envId/device', params: z.object({ envId: envIdParam }), operationId: 'startVerificationInEnvironment' },
    { url: '/:envId/device/:clientId', params: z.object({ envId: envIdParam, clientId: text(200) }), operationId: 'startVerificationForClient' },
  ];
  for (const s of starts) {
    r.get(s.url, {
      schema: {
        tags: ['page'],
        operationId: s.operationId,
        summary: 'Start a verification flow; 302 to the verification page with flowId',
        description: 'The address devices show (verification_uri). The flow is bound to this browser by a cookie; a custom UI calls it too '
          + 'and reads flowId from Location, then drives the flow API (tag flows).',
        ...(s.params ? { params: s.params } : {}),
        querystring: deviceQuery,
        // Refusals are the page's HTML error pages (errors.ts).
        produces: ['text/html'],
        response: {
          302: z.null().describe('Location: {PUBLIC_URL}/{envID}/signon?flowId=…[&user_code=…][&view=devices]; with idp, {PUBLIC_URL}/{envID}/idp/{idp}/start?flowId=…'),
          400: page('a malformed user_code (over 64 characters, or a NUL byte) or a view other than devices'),
          ...(s.params ? { 404: page(`no such environment${s.url.endsWith(':clientId') ? ' or application' : ''}`) } : {}),
          429: pageRefusals[429],
          503: page('the flow could not be stored (the database is out of storage or cannot be reached; Retry-After)'),
        },
      },
      handler: async (request, reply) => {
        const env = request.env;
        const secret = ensureBrowserSecret(request, reply);
        const flow = await services.verification.start(env, secret, (request.params as { clientId?: string }).clientId);
        const idp = request.query.idp;
        const then = { userCode: request.query.user_code, toDevices: request.query.view === 'devices' };
        const location = idp !== undefined && idp !== '' ? services.urls.idpStart(env.id, idp, flow.id, then) : services.urls.signon(env.id, flow.id, then);
        reply.header('cache-control', 'no-store');
        return reply.redirect(location, 302);
      },
    });
  }
}
