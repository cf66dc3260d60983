// The PingOne-compatible flow API (docs/vendors.md): read a flow, act on it by media type. Flows
// start at the page's /device entry point (surfaces/pages/entry.ts), for the page and custom UIs alike.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';
import { FLOW_STATUSES, type Environment, type FlowStatus } from '../../model/records.ts';
import { countryName } from '../../core/request-context.ts';
import type { ConsentAnswer, FlowView } from '../../core/verification.ts';
import { truncateAddress } from '../../geoip/address.ts';
import { described, errorResponses } from '../../http/api-doc.ts';
import { browserSecret } from '../../http/browser.ts';
import { resolveEnvironment } from '../../http/environment.ts';
import { mediaType } from '../../http/form.ts';
import { envIdParam, idParam, text } from '../../http/params.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { requestContext } from '../../http/request-context.ts';
import { ownWireFormat } from '../../http/wire-format.ts';
import type { Services } from '../../services.ts';
import { FLOW_ERROR_CODES, FLOW_ERROR_DETAIL_CODES, flowRawError, sendFlowError } from './errors.ts';

export const MEDIA = {
  check: 'application/vnd.pingidentity.usernamepassword.check+json',
  verify: 'application/vnd.pingidentity.deviceauthgrant.usercode.verify+json',
  consent: 'application/vnd.pingidentity.deviceauthgrant.consent+json',
} as const;

/** The action each status waits for, as PingOne names its `_links`. */
const NEXT_ACTION: Partial<Record<FlowStatus, string>> = {
  USERNAME_PASSWORD_REQUIRED: 'usernamePassword.check',
  DAG_USER_CODE_REQUIRED: 'deviceAuthGrant.userCode.verify',
  DAG_CONSENT_REQUIRED: 'deviceAuthGrant.consent',
};

const checkBody = z.strictObject({ username: text(256).min(1), password: text(1024).min(1) });
const verifyBody = z.strictObject({ userCode: text(64).min(1) });
// `{accept}` approves or denies; `{report: true}` is "I didn't start this": denied and reported.
const acceptBody = z.strictObject({ accept: z.boolean() });
const reportBody = z.strictObject({ report: z.literal(true) });
const consentBody = z.union([acceptBody, reportBody]);

const whereabouts = z.object({
  country: z.string().nullable().describe('ISO 3166-1 alpha-2, null when unknown'),
  asn: z.number().int().nullable().describe('autonomous system number, null when unknown'),
});
const requestSummary = z.object({
  requestedAt: z.string(),
  expiresAt: z.string(),
  userAgent: z.string().nullable().describe("the device's User-Agent, shortened, control characters removed"),
  source: z.object({
    address: z.string().nullable(),
    country: z.string().nullable().describe('ISO 3166-1 alpha-2'),
    countryName: z.string().nullable().describe('in English'),
    asn: z.number().int().nullable(),
    network: z.string().nullable().describe('the autonomous system\'s name; "this network" (loopback) or "a private network" (private ranges)'),
  }),
}).describe("where the device's request came from (RFC 8628 §5.4), once the flow has a device");
const consentWarning = z.object({
  code: z.literal('LOCATION_MISMATCH'),
  message: z.string(),
  requester: whereabouts,
  approver: whereabouts,
});

const link = z.object({ href: z.string() });
const idpLink = z.object({
  name: z.string().describe('the provider\'s name in this environment'),
  title: z.string().describe('its display name, for a "Continue with …" button'),
  href: z.string().describe('open in the browser that holds the flow: it goes to the provider, and comes back to the verification page'),
});
export const flowResponse = z
  .object({
    _links: z.record(z.string(), z.union([link, z.array(idpLink)]))
      .describe('self; the action the status waits for; while USERNAME_PASSWORD_REQUIRED, `idp`: the environment\'s identity providers (and no usernamePassword.check when password sign-in is off)'),
    id: z.string(),
    status: z.enum(FLOW_STATUSES).describe('USERNAME_PASSWORD_REQUIRED → DAG_USER_CODE_REQUIRED → DAG_CONSENT_REQUIRED → COMPLETED or FAILED'),
    createdAt: z.string(),
    expiresAt: z.string(),
    _embedded: z.object({
      user: z.object({ id: z.string(), username: z.string(), name: z.string().optional() }).optional(),
      application: z.object({ name: z.string() }).optional(),
      scopes: z.array(z.string()).optional(),
      request: requestSummary.optional(),
      warnings: z.array(consentWarning).optional()
        .describe("with request: what differs between where the request came from and where this request comes from (empty when nothing does)"),
    }),
  })
  .meta({
    id: 'Flow',
    description: 'The flow: its status, and under _links the action it waits for',
    examples: [{
      _links: {
        self: { href: 'http://127.0.0.1:3000/3f1c0d2e-5b7a-4c1e-9d3f-2a6b8c0e4f11/flows/9b2e7c4a-1d3f-4e5a-8b6c-0f1e2d3c4b5a' },
        'deviceAuthGrant.userCode.verify': { href: 'http://127.0.0.1:3000/3f1c0d2e-5b7a-4c1e-9d3f-2a6b8c0e4f11/flows/9b2e7c4a-1d3f-4e5a-8b6c-0f1e2d3c4b5a' },
      },
      id: '9b2e7c4a-1d3f-4e5a-8b6c-0f1e2d3c4b5a',
      status: 'DAG_USER_CODE_REQUIRED',
      createdAt: '2026-01-01T12:00:00.000Z',
      expiresAt: '2026-01-01T12:10:00.000Z',
      _embedded: { user: { id: '6d0f8a3e-2c4b-4a1d-9e7f-5b3c1a2d4e6f', username: 'alice' } },
    }],
  });

const pingError = z
  .object({
    id: z.string().describe('The request id'),
    code: z.enum(FLOW_ERROR_CODES),
    message: z.string(),
    details: z.array(z.object({
      code: z.enum(FLOW_ERROR_DETAIL_CODES),
      target: z.string().optional(),
      message: z.string(),
      innerError: z.object({ failuresRemaining: z.number().int() }).optional(),
    })).optional(),
  })
  .meta({
    id: 'PingOneError',
    description: 'PingOne\'s error envelope',
    examples: [{
      id: 'Xy3kP0qLm2Zt', code: 'INVALID_DATA', message: 'The request could not be completed. One or more validation errors were in the request.',
      details: [{ code: 'INVALID_VALUE', target: 'userCode', message: 'that code is not valid', innerError: { failuresRemaining: 4 } }],
    }],
  });

const flowParams = z.object({ envId: envIdParam, flowId: idParam('Flow id') });

/** The sign-in step's choices: the environment's identity providers, and whether passwords are taken. */
interface SignInLinks {
  idp: z.input<typeof idpLink>[];
  passwordSignIn: boolean;
}

function formatFlow(v: FlowView, selfHref: string, signIn: SignInLinks): z.input<typeof flowResponse> {
  const signingIn = v.flow.status === 'USERNAME_PASSWORD_REQUIRED';
  const next = signingIn && !signIn.passwordSignIn ? undefined : NEXT_ACTION[v.flow.status];
  const embedded: z.input<typeof flowResponse>['_embedded'] = {};
  if (v.user) embedded.user = v.user;
  if (v.application) embedded.application = v.application;
  if (v.scopes && v.flow.status !== 'USERNAME_PASSWORD_REQUIRED') embedded.scopes = v.scopes;
  if (v.request) {
    const source = v.request.source;
    embedded.request = {
      requestedAt: new Date(v.request.requestedAt).toISOString(),
      expiresAt: new Date(v.request.expiresAt).toISOString(),
      userAgent: source.userAgent,
      source: { address: source.address, country: source.country, countryName: countryName(source.country), asn: source.asn, network: source.network },
    };
    embedded.warnings = v.warnings ?? [];
  }
  return {
    _links: {
      self: { href: selfHref },
      ...(next ? { [next]: { href: selfHref } } : {}),
      ...(signingIn && signIn.idp.length > 0 ? { idp: signIn.idp } : {}),
    },
    id: v.flow.id,
    status: v.flow.status,
    createdAt: new Date(v.flow.createdAt).toISOString(),
    expiresAt: new Date(v.flow.expiresAt).toISOString(),
    _embedded: embedded,
  };
}

export const flowApiPlugin: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  await ownWireFormat(app, sendFlowError, ['/:envId/flows'], flowRawError);
  // The page's budget: one per source across the page and the flow API together, unknown paths included.
  app.addHook('onRequest', app.rateLimit(limitBy(services.limits.verification, sourceKey)));
  app.addHook('preHandler', resolveEnvironment(services));
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { publicUrl } = services.config;

  // PingOne's custom media types are JSON; parse them with Fastify's JSON parser (which refuses
  // __proto__ and constructor keys). Any other media type is 415.
  app.addContentTypeParser(/^application\/vnd\.pingidentity\.[a-z.]+\+json$/i, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  const selfHref = (params: z.infer<typeof flowParams>) => `${publicUrl}/${params.envId}/flows/${params.flowId}`;
  const format = async (env: Environment, view: FlowView, params: z.infer<typeof flowParams>) => {
    const idp = view.flow.status !== 'USERNAME_PASSWORD_REQUIRED' ? [] : (await services.federation.providers(env.id))
      .map((p) => ({ name: p.name, title: p.displayName, href: services.urls.idpStart(env.id, p.name, view.flow.id) }));
    return formatFlow(view, selfHref(params), { idp, passwordSignIn: env.passwordSignIn });
  };
  const errors = (statuses: Parameters<typeof errorResponses>[1]) => errorResponses(described(pingError), statuses, {
    400: 'INVALID_DATA (a wrong password or code: details say which field, and failures remaining) or INVALID_REQUEST (an action the flow does not wait for)',
    403: 'ACCESS_FAILED: not allowed (password sign-in is off in this environment)',
    404: 'NOT_FOUND: no such environment, or no such flow for this browser (unknown, expired, or another browser\'s)',
    429: 'REQUEST_LIMITED: too many requests or wrong codes from this address (Retry-After)',
    503: 'REQUEST_FAILED: the database cannot be reached or is out of storage, or a code could not be checked (Redis unreachable); Retry-After',
  });
  const flowCookie = 'The flow is bound to the browser that started it at /device (its cookie); other callers get 404.';

  r.get('/:envId/flows/:flowId', {
    schema: {
      tags: ['flows'], operationId: 'getFlow', summary: 'Read a flow', description: flowCookie, params: flowParams,
      response: { 200: flowResponse, ...errors([400, 403, 404, 413, 415, 429, 503]) },
    },
    handler: async (request, reply) => {
      const flow = await services.verification.load(request.env, request.params.flowId, browserSecret(request));
      reply.header('cache-control', 'no-store');
      // The reader's context: the warnings compare the device's request with where this request comes from.
      return format(request.env, await services.verification.view(flow, requestContext(request, services.geoIp)), request.params);
    },
  });

  r.post('/:envId/flows/:flowId', {
    schema: {
      tags: ['flows'],
      operationId: 'actOnFlow',
      summary: 'Act on a flow; the action is chosen by Content-Type',
      description: [
        flowCookie,
        `${MEDIA.check} {username, password}: USERNAME_PASSWORD_REQUIRED → DAG_USER_CODE_REQUIRED`,
        `${MEDIA.verify} {userCode}: DAG_USER_CODE_REQUIRED → DAG_CONSENT_REQUIRED`,
        `${MEDIA.consent} {accept} or {report: true} ("I didn't start this": denied and reported): DAG_CONSENT_REQUIRED → COMPLETED | FAILED`,
      ].join('\n\n'),
      params: flowParams,
      consumes: [MEDIA.check, MEDIA.verify, MEDIA.consent],
      body: z.union([checkBody, verifyBody, consentBody]),
      // 503: the database cannot be reached or is full, or a code not checked (Redis unreachable); Retry-After.
      response: { 200: flowResponse.meta({ description: 'The flow after the action: its new status and the next action' }), ...errors([400, 403, 404, 413, 415, 429, 503]) },
    },
    // The media type picks the action, so it is judged before the body's shape.
    preValidation: (request) => {
      const type = mediaType(request);
      if (type === undefined || !Object.values<string>(MEDIA).includes(type)) {
        return Promise.reject(new CoreError('unsupported_media_type', 'unsupported content type for a flow action'));
      }
      return Promise.resolve();
    },
    handler: async (request, reply) => {
      const env = request.env;
      const secret = browserSecret(request);
      const flowId = request.params.flowId;
      const v = services.verification;
      const context = requestContext(request, services.geoIp);
      const parse = <T>(schema: z.ZodType<T>): T => {
        const parsed = schema.safeParse(request.body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new CoreError('invalid_request', issue?.message ?? 'invalid body', { target: issue?.path.map(String).join('.') ?? '' });
        }
        return parsed.data;
      };
      let view: FlowView;
      switch (mediaType(request)) {
        case MEDIA.check: {
          const body = parse(checkBody);
          view = await v.signIn(env, flowId, secret, body.username, body.password, context);
          break;
        }
        case MEDIA.verify:
          view = await v.verifyUserCode(env, flowId, secret, parse(verifyBody).userCode, sourceKey(request), context);
          break;
        default: {
          // Judged against the form it names, so an error points at the field that is wrong.
          let answer: ConsentAnswer;
          if ('report' in request.body) {
            parse(reportBody);
            answer = 'report';
          } else {
            answer = parse(acceptBody).accept ? 'approve' : 'deny';
          }
          view = await v.consent(env, flowId, secret, answer, context);
          // Never the full address in the log: its /24 (IPv4) or /48 (IPv6).
          if (answer === 'report') request.log.info({ flowId, source: truncateAddress(request.ip) }, 'device request reported by the person asked to approve it');
        }
      }
      reply.header('cache-control', 'no-store');
      return format(env, view, request.params);
    },
  });
};
