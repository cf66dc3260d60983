// Sign-in through the organisation's identity provider, on the verification page (README "Sign in
// with your organisation"):
//   GET /{envID}/idp/{name}/start?flowId=…   302 to the provider, for the flow this browser holds
//   GET /{envID}/idp/{name}/callback?…       the provider's answer: 303 to the flow's next step
// The default environment's are under its id too: the redirect URI registered upstream is always
// PUBLIC_URL/{envID}/idp/{name}/callback. Every failure is a page of ours with what happened and a
// way back to the sign-in step (never the provider's error, never a 500).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError, isCoreError } from '../../core/errors.ts';
import { browserSecret } from '../../http/browser.ts';
import { envIdParam, text } from '../../http/params.ts';
import { requestContext } from '../../http/request-context.ts';
import type { Completed } from '../../federation/federation.ts';
import type { Environment } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { langQuery, pageContext } from './context.ts';
import { errorWords, redirectPage, sendPage } from './errors.ts';
import { html } from './html.ts';
import { messagePage } from './render.ts';
import { page, pageRefusals } from './responses.ts';

const idpParams = z.object({ envId: envIdParam, name: text(40) });
const startQuery = z.object({
  flowId: text(64).optional(),
  user_code: text(64).optional().describe('the code the device showed, carried to the code step after the sign-in'),
  view: z.enum(['devices']).optional().describe('`devices`: show "Your devices" after the sign-in'),
  lang: langQuery,
});
// What an OpenID Provider may send back (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 iss); the rest is ignored.
const callbackQuery = z.object({
  code: text(2048).optional(),
  state: text(512).optional(),
  iss: text(2048).optional(),
  error: text(256).optional(),
  error_description: text(1024).optional(),
  session_state: text(512).optional(),
});

export function idpRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { publicUrl } = services.config;

  /** A federation failure as a page: what happened, and the way back to the sign-in step when there is one. */
  const failed = (reply: FastifyReply, env: Environment, err: CoreError, flowId: string | undefined): FastifyReply => {
    reply.request.log.info({ code: err.code, reason: err.details.federation, why: err.details.logReason }, 'upstream sign-in failed');
    const c = pageContext(reply.request, services.clock.now());
    return sendPage(c, reply, err.status, messagePage(c, {
      title: c.t.text('federation.title'),
      message: errorWords(c, err).message,
      next: flowId === undefined
        ? html`<p>${c.t.text('federation.startAgain')}</p>`
        : html`<p><a href="${services.urls.signon(env.id, flowId)}">${c.t.text('federation.back')}</a></p>`,
    }));
  };

  r.get('/:envId/idp/:name/start', {
    schema: {
      tags: ['page'],
      operationId: 'startIdentityProviderSignIn',
      summary: 'Start signing in through an identity provider for a flow this browser holds; 302 to the provider',
      params: idpParams,
      querystring: startQuery,
      produces: ['text/html'],
      response: {
        302: z.null().describe('Location: the provider\'s authorization endpoint (code flow, PKCE S256, state, nonce)'),
        303: z.null().describe('Location: the verification page, when the flow is past its sign-in step'),
        400: page('the provider could not be used (unknown, unreachable or misconfigured), or the flow no longer awaits a sign-in; a way back'),
        404: page('the link has expired (unknown or expired flow, or another browser); no such environment'),
        ...pageRefusals,
      },
    },
    handler: async (request, reply) => {
      const env = request.env;
      const flowId = request.query.flowId;
      if (flowId === undefined) throw new CoreError('flow_not_found', 'no flow to sign in for');
      const flow = await services.verification.load(env, flowId, browserSecret(request));
      let url: URL;
      try {
        url = await services.federation.start(env, flow, request.params.name, { userCode: request.query.user_code, toDevices: request.query.view === 'devices' });
      } catch (err) {
        if (isCoreError(err) && err.code === 'flow_wrong_state') return redirectPage(reply, services.urls.signon(env.id, flow.id));
        if (isCoreError(err) && err.code === 'federation_failed') return failed(reply, env, err, flow.id);
        throw err;
      }
      reply.header('cache-control', 'no-store');
      return reply.redirect(url.href, 302);
    },
  });

  r.get('/:envId/idp/:name/callback', {
    schema: {
      tags: ['page'],
      operationId: 'completeIdentityProviderSignIn',
      summary: 'The identity provider\'s answer (authorization code or error); 303 to the flow\'s next step',
      params: idpParams,
      querystring: callbackQuery,
      produces: ['text/html'],
      response: {
        303: z.null().describe('Location: the verification page of the flow, at its code step'),
        400: page('the sign-in did not complete: cancelled, refused, replayed, another browser\'s, or the provider answered wrongly or not at all'),
        404: page('no such environment'),
        ...pageRefusals,
      },
    },
    handler: async (request, reply) => {
      const env = request.env;
      const url = new URL(request.url, publicUrl);
      let done: Completed;
      try {
        done = await services.federation.callback(env, request.params.name, url, browserSecret(request), requestContext(request, services.geoIp));
      } catch (err) {
        if (isCoreError(err) && err.code === 'federation_failed') return failed(reply, env, err, err.details.flowId);
        throw err;
      }
      return redirectPage(reply, services.urls.signon(env.id, done.flow.id, done.then));
    },
  });
}
