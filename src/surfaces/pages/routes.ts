// The verification page (RFC 8628 §3.3): server-rendered HTML over the flow engine, a thin client of the
// same state machine as the flow API. GET renders the flow's current step; POST acts on it and
// answers 303 back to the GET (Post/Redirect/Get), or re-renders the same form with a message.
//   GET  /{envId}/signon?flowId=…[&user_code=…][&view=devices][&lang=…]   (and /signon for the default environment)
//   POST /{envId}/signon   flowId, csrf, action = signin | code | approve | deny | report | signout,
//                          username/password | user_code | grant
// `view=devices` is "Your devices" (signed-in-devices.ts) once the flow has a signed-in user.
// `report` is "I didn't start this": the device is denied and the request reported.
// Every page speaks the person's language and wears the environment's branding (context.ts);
// `lang` is the language links' parameter (README "Branding and languages").
import formbody from '@fastify/formbody';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError, isCoreError } from '../../core/errors.ts';
import type { Environment } from '../../model/records.ts';
import type { FlowView } from '../../core/verification.ts';
import { truncateAddress } from '../../geoip/address.ts';
import { browserSecret } from '../../http/browser.ts';
import { resolveEnvironment } from '../../http/environment.ts';
import { requireFormBody } from '../../http/form.ts';
import { envIdParam, text } from '../../http/params.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { requestContext } from '../../http/request-context.ts';
import { ownWireFormat } from '../../http/wire-format.ts';
import type { Services } from '../../services.ts';
import { langQuery, pageContext, rememberLanguage, type PageContext } from './context.ts';
import { csrfToken, csrfValid } from './csrf.ts';
import { entryRoutes } from './entry.ts';
import { idpRoutes } from './idp.ts';
import { qrRoutes } from './qr.ts';
import { forbiddenPage, formMessage, isFormError, rawPageError, redirectPage, sendPage, sendPageError } from './errors.ts';
import { confirmSignOutPage, deviceRows, devicesHref, devicesPage } from './signed-in-devices.ts';
import { messagePage, type FormContext } from './render.ts';
import { html } from './html.ts';
import { renderStep, type SignInChoices } from './steps.ts';
import { signonGetResponses, signonPostResponses } from './responses.ts';
import type { PlainKey } from './i18n/index.ts';

const envParams = z.object({ envId: envIdParam });
const devicesView = z.enum(['devices']).optional();
const pageQuery = z.object({
  flowId: text(64).optional(),
  user_code: text(64).optional(),
  view: devicesView.describe('`devices`: "Your devices", the signed-in person\'s grants (the sign-in step first when nobody is signed in)'),
  signedOut: text(64).optional().describe('with view=devices: the grant just signed out (or `all`), for the confirmation'),
  confirm: text(64).optional().describe('with view=devices: ask before signing out this grant (or `all`)'),
  lang: langQuery,
});
const pageBody = z.object({
  flowId: text(64).optional(),
  csrf: text(128).optional(),
  action: z.enum(['signin', 'code', 'approve', 'deny', 'report', 'signout', 'signout-all']).optional()
    .describe("report: \"I didn't start this\", the device is denied and the request reported"),
  username: text(256).optional(),
  password: text(1024).optional(),
  user_code: text(64).optional(),
  view: devicesView.describe('with action=signin: show "Your devices" after signing in'),
  grant: text(64).optional().describe('with action=signout: the id of the grant to end'),
});

/** The verification page for people: /device starts a flow, /signon renders and drives it. */
export const pagePlugin: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  await ownWireFormat(app, sendPageError, ['/device', '/signon', '/:envId/device', '/:envId/signon', '/:envId/idp'], rawPageError);
  // One budget per source across the page and the flow API together, unknown paths included.
  app.addHook('onRequest', app.rateLimit(limitBy(services.limits.verification, sourceKey)));
  // A language chosen with a language link is remembered for the next steps (context.ts).
  const secure = services.config.publicUrl.startsWith('https:');
  app.addHook('onRequest', async (request, reply) => { rememberLanguage(request, reply, secure); });
  // The environment as stored now, the root's default one included: a branding change shows at once.
  app.addHook('preHandler', resolveEnvironment(services, { current: true }));
  await app.register(formbody, { bodyLimit: services.config.bodyLimit });
  qrRoutes(app, services);
  entryRoutes(app, services);
  signonRoutes(app, services);
  idpRoutes(app, services);
};

function signonRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { publicUrl } = services.config;
  const v = services.verification;
  const attributions = services.geoIp.attributions;
  /** The sign-in step's "Continue with …" links (the code and the wish to see the devices ride along). */
  const signInChoices = async (env: Environment, view: FlowView, then: { userCode?: string; toDevices?: boolean }): Promise<SignInChoices | undefined> => {
    if (view.flow.status !== 'USERNAME_PASSWORD_REQUIRED') return undefined;
    const providers = (await services.federation.providers(env.id))
      .map((p) => ({ displayName: p.displayName, href: services.urls.idpStart(env.id, p.name, view.flow.id, then) }));
    return { providers, passwordSignIn: env.passwordSignIn };
  };
  const pageUrl = (env: Environment, flowId: string, o: { userCode?: string; view?: 'devices'; signedOut?: string } = {}) => {
    const q = new URLSearchParams({ flowId });
    if (o.userCode) q.set('user_code', o.userCode);
    if (o.view !== undefined) q.set('view', o.view);
    if (o.signedOut !== undefined) q.set('signedOut', o.signedOut);
    return `${publicUrl}/${env.id}/signon?${q.toString()}`;
  };

  /**
   * "Your devices" for the flow's signed-in user; `signedOut` names a grant of theirs just ended (or
   * `all`); `confirm` asks before signing out one of them (or all).
   */
  const devices = async (
    c: PageContext, env: Environment, view: FlowView & { user: { id: string; username: string } }, form: FormContext, signedOut?: string, confirm?: string,
  ) => {
    const rows = await deviceRows(c, services.store, env, await services.grants.listLive(env, view.user.id));
    if (confirm === 'all' && rows.length > 0) return confirmSignOutPage(c, { form, count: rows.length });
    const asked = rows.find((r) => r.grantId === confirm);
    // Only a live grant of this user can be asked about; any other id shows the list.
    if (asked !== undefined) return confirmSignOutPage(c, { form, row: asked, count: rows.length });
    const ended = signedOut === undefined || signedOut === 'all' ? undefined : await services.store.grants.get(env.id, signedOut);
    // Only a grant of this user that has really ended is confirmed; any other id is ignored.
    const endedName = signedOut === 'all' ? 'all'
      : ended?.userId === view.user.id && ended.revokedAt !== null ? (await deviceRows(c, services.store, env, [ended]))[0]?.name : undefined;
    const back = view.flow.status === 'DAG_USER_CODE_REQUIRED' ? c.t.text('devices.backToCode')
      : view.flow.status === 'DAG_CONSENT_REQUIRED' ? c.t.text('devices.backToConsent') : c.t.text('devices.back');
    return devicesPage(c, { form, username: view.user.username, rows, signedOut: endedName, back });
  };

  for (const url of ['/signon', '/:envId/signon']) {
    const params = url === '/signon' ? {} : { params: envParams };

    r.get(url, {
      schema: {
        tags: ['page'],
        operationId: url === '/signon' ? 'showVerificationStep' : 'showVerificationStepInEnvironment',
        summary: "Render the verification flow's current step as HTML (sign in, code, consent, done)",
        ...params,
        querystring: pageQuery,
        produces: ['text/html'],
        response: signonGetResponses,
      },
      handler: async (request, reply) => {
        const env = request.env;
        const { flowId, user_code: userCode } = request.query;
        const secret = browserSecret(request);
        if (flowId === undefined || secret === undefined) throw new CoreError('flow_not_found', 'no flow for this browser');
        const flow = await v.load(env, flowId, secret);
        const form = { flowId: flow.id, csrf: csrfToken(services.secrets, flow.id, secret) };
        // The reader is the person approving: the consent screen compares the device's request with where they are.
        const viewer = requestContext(request, services.geoIp);
        const view = await v.view(flow, viewer);
        const c = pageContext(request, view.at);
        if (request.query.view === 'devices' && view.user !== undefined) {
          return sendPage(c, reply, 200, await devices(c, env, { ...view, user: view.user }, form, request.query.signedOut, request.query.confirm));
        }
        // Nobody signed in yet: the sign-in step comes first, and carries the wish to see the devices.
        const toDevices = request.query.view === 'devices';
        const signIn = await signInChoices(env, view, { userCode, toDevices });
        return sendPage(c, reply, 200, renderStep(c, view, form, { userCode, toDevices, attributions, signIn, viewer }));
      },
    });

    r.post(url, {
      schema: {
        tags: ['page'],
        operationId: url === '/signon' ? 'submitVerificationStep' : 'submitVerificationStepInEnvironment',
        summary: 'Submit a step of the verification page; 303 to the page (Post/Redirect/Get) or the same form with a message',
        ...params,
        consumes: ['application/x-www-form-urlencoded'],
        body: pageBody,
        produces: ['text/html'],
        response: signonPostResponses,
      },
      preValidation: requireFormBody,
      handler: async (request, reply) => {
        const env = request.env;
        const body = request.body;
        const flowId = body.flowId;
        if (flowId === undefined || flowId === '') throw new CoreError('invalid_request', 'missing flowId');
        const secret = browserSecret(request);
        // Without the cookie this browser cannot own any flow: the same answer as an unknown flow.
        if (secret === undefined) throw new CoreError('flow_not_found', 'no flow for this browser');
        if (!csrfValid(services.secrets, flowId, secret, body.csrf)) {
          request.log.info({ flowId }, 'page form refused: bad CSRF token');
          const c = pageContext(request, services.clock.now());
          return sendPage(c, reply, 403, forbiddenPage(c));
        }
        const form = { flowId, csrf: csrfToken(services.secrets, flowId, secret) };
        const context = requestContext(request, services.geoIp);
        const userCode = body.user_code;
        const username = body.username ?? '';

        /** Re-renders the flow's current step (normally the same form) with a message. */
        const again = async (status: number, message: (c: PageContext) => string, errorCode?: string): Promise<FastifyReply> => {
          const view = await v.view(await v.load(env, flowId, secret), context);
          const c = pageContext(request, view.at);
          const toDevices = body.view === 'devices';
          const signIn = await signInChoices(env, view, { userCode, toDevices });
          const error = { message: message(c) };
          return sendPage(c, reply, status, renderStep(c, view, form, { userCode, username, error, errorCode, toDevices, attributions, signIn, viewer: context }));
        };

        if (body.action === 'signout') return signOut(request.log, reply, env, flowId, secret, body.grant);
        if (body.action === 'signout-all') return signOutAll(request.log, reply, env, flowId, secret);

        /** Runs the action on the engine; the sentence to show when a field was left empty (no attempt counted). */
        const act = async (): Promise<PlainKey | undefined> => {
          switch (body.action) {
            case 'signin':
              if (username.trim() === '' || (body.password ?? '') === '') return 'form.enterCredentials';
              await v.signIn(env, flowId, secret, username, body.password ?? '', context);
              return undefined;
            case 'code':
              if ((userCode ?? '').trim() === '') return 'form.enterCode';
              await v.verifyUserCode(env, flowId, secret, userCode ?? '', sourceKey(request), context);
              return undefined;
            case 'approve':
            case 'deny':
              await v.consent(env, flowId, secret, body.action, context);
              return undefined;
            case 'report':
              await v.consent(env, flowId, secret, 'report', context);
              // Never the full address in the log: its /24 (IPv4) or /48 (IPv6).
              request.log.info({ flowId, source: truncateAddress(request.ip) }, 'device request reported by the person asked to approve it');
              return undefined;
            case 'signout': // answered by signOut and signOutAll above, before any of these
            case 'signout-all':
            case undefined:
              throw new CoreError('invalid_request', 'missing action');
          }
        };

        let empty: PlainKey | undefined;
        try {
          empty = await act();
        } catch (err) {
          if (!isCoreError(err)) throw err;
          // Back button, double submit, a second tab: nothing changes; show where the flow is now.
          if (err.code === 'flow_wrong_state') return redirectPage(reply, pageUrl(env, flowId, { view: body.view }));
          if (!isFormError(err)) throw err;
          if (err.details.retryAfter !== undefined) reply.header('retry-after', String(err.details.retryAfter));
          return again(err.status, (c) => formMessage(c, err) ?? '', err.code);
        }
        if (empty !== undefined) {
          const key = empty;
          return again(400, (c) => c.t.text(key));
        }
        // The prefilled code rides along from sign-in to the code step; it is shown, never submitted for the user.
        const signedIn = body.action === 'signin';
        return redirectPage(reply, pageUrl(env, flowId, signedIn ? { userCode, view: body.view } : {}));
      },
    });
  }

  /**
   * Sign-out from "Your devices": ends one grant of the flow's signed-in user, then 303 back to the
   * list. Ending a grant twice is the same as once (a double submit or Back-and-resubmit shows the
   * list again); a grant that is not this user's is a 404 and nothing changes.
   */
  async function signOut(
    log: FastifyBaseLogger, reply: FastifyReply, env: Environment, flowId: string, secret: string, grantId: string | undefined,
  ): Promise<FastifyReply> {
    const flow = await v.load(env, flowId, secret);
    // No signed-in user: there is no list to act on; the page shows the sign-in step.
    if (flow.userId === null) return redirectPage(reply, pageUrl(env, flowId, { view: 'devices' }));
    if (grantId === undefined || grantId === '') throw new CoreError('invalid_request', 'missing grant');
    try {
      await services.grants.revoke(env, grantId, { userId: flow.userId });
    } catch (err) {
      if (!isCoreError(err) || err.code !== 'not_found') throw err;
      log.info({ flowId }, 'page sign-out refused: not a grant of the signed-in user');
      const c = pageContext(reply.request, services.clock.now());
      return sendPage(c, reply, 404, messagePage(c, {
        title: c.t.text('devices.notFoundTitle'),
        message: c.t.text('devices.notFound'),
        next: html`<p><a href="${devicesHref(flowId)}">${c.t.text('devices.backToList')}</a></p>`,
      }));
    }
    log.info({ flowId, grantId }, 'grant signed out from the page');
    return redirectPage(reply, pageUrl(env, flowId, { view: 'devices', signedOut: grantId }));
  }

  /** "Sign out of all devices": ends every live grant of the flow's signed-in user, then 303 back to the list. */
  async function signOutAll(log: FastifyBaseLogger, reply: FastifyReply, env: Environment, flowId: string, secret: string): Promise<FastifyReply> {
    const flow = await v.load(env, flowId, secret);
    if (flow.userId === null) return redirectPage(reply, pageUrl(env, flowId, { view: 'devices' }));
    const userId = flow.userId;
    let ended = 0;
    for (const g of await services.grants.listLive(env, userId)) {
      // Ended meanwhile by someone else: it is signed out all the same.
      await services.grants.revoke(env, g.id, { userId }).then(() => { ended++; }, (err: unknown) => {
        if (!isCoreError(err) || err.code !== 'not_found') throw err;
      });
    }
    log.info({ flowId, ended }, 'every grant signed out from the page');
    return redirectPage(reply, pageUrl(env, flowId, { view: 'devices', signedOut: 'all' }));
  }
}
