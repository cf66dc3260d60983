// The RSA-compatible facade (docs/vendors.md): admins holding an admin API key sign short-lived
// JWTs and ask for one-time device registration codes, look users up, list and delete their
// devices; the authenticator app redeems a code to register the user's one device.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireSuperAdmin, type AdminPrincipal } from '../../core/admin-keys.ts';
import { ref } from '../../core/audit.ts';
import { CoreError } from '../../core/errors.ts';
import type { RegisteredDevice, User } from '../../model/records.ts';
import type { UserRef } from '../../core/registration.ts';
import { described, errorResponses, security, type ErrorStatus } from '../../http/api-doc.ts';
import { bearerGuard } from '../../http/bearer.ts';
import { methodNotAllowed } from '../../http/methods.ts';
import { idParam } from '../../http/params.ts';
import { limitBy, sourceKey } from '../../http/rate-limit.ts';
import { ownWireFormat } from '../../http/wire-format.ts';
import type { Services } from '../../services.ts';
import { rsaValidatorCompiler } from './body.ts';
import { REGISTRATION_CODE_PATH, rsaErrorSender, rsaRawError } from './errors.ts';
import {
  devicesResponse, device, lookupBody, redemptionBody, registrationCodeBody, registrationCodeResponse, rsaError, userDetails,
} from './schemas.ts';

const ADMIN = '/AdminInterface/restapi';
const REDEMPTION_PATH = '/api/v1/devices/registrations';
// 405: other methods on every path, with Allow (methodNotAllowed below); a too-large body is 400, as RSA documents.
// 503 (with Retry-After): the database cannot be reached, or cannot store a write.
const ADMIN_ERRORS: readonly ErrorStatus[] = [400, 403, 404, 405, 415, 429, 500, 503];
const adminSays = {
  400: 'A body that is not exactly what the operation takes (or too large)',
  403: 'No admin JWT, or one that does not verify (RSA answers 403 for both); or the admin key\'s role may not do this',
} as const;
const errors = (says: Partial<Record<ErrorStatus, string>> = {}) => errorResponses(described(rsaError), ADMIN_ERRORS, { ...adminSays, ...says });
const adminJwt = () => security(['rsaAdminJwt']);
const userParams = z.object({ userId: idParam('User id') });

const iso = (ms: number) => new Date(ms).toISOString();

function userRef(body: { email?: unknown; username?: unknown }): UserRef {
  return typeof body.email === 'string' ? { email: body.email } : { username: String(body.username) };
}

function deviceJson(d: RegisteredDevice): z.input<typeof device> {
  return { id: d.id, userId: d.userId, appId: d.appId, deviceName: d.deviceName, platform: d.platform, registrationDate: iso(d.registeredAt) };
}

function userJson(u: User): z.input<typeof userDetails> {
  return {
    id: u.id,
    emailAddress: u.email,
    username: u.username,
    creationDate: iso(u.createdAt),
    identitySource: 'device-code-server',
    userStatus: u.disabled ? 'Disabled' : 'Enabled',
    markDeleted: false,
    highRiskUser: false,
  };
}

export const rsaPlugin: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  await ownWireFormat(app, rsaErrorSender(services.clock), [ADMIN, '/api/v1/devices'], rsaRawError(services.clock));
  app.setValidatorCompiler(rsaValidatorCompiler);
  // RSA's example requests carry no Content-Type: a body without one is read as JSON here. Any
  // other media type than JSON is refused (415), text/plain included.
  app.removeContentTypeParser('text/plain');
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (request.headers['content-type'] === undefined) {
      void json(request, body as string, done);
      return;
    }
    done(new CoreError('unsupported_media_type', 'the request body must be application/json'), undefined);
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { adminApi, deviceRegistration } = services.limits;

  const guard = bearerGuard<{ admin: AdminPrincipal }>(async (token) => ({ admin: await services.adminKeys.authenticate(token) }), (p) => p.admin.accessId);
  // The guard authenticates first (a route hook), so the limit counts the admin key, or the source of a failure.
  const adminRoute = { onRequest: guard.authenticate, config: { rateLimit: limitBy(adminApi, guard.rateLimitKey) } };
  /** The admin and the environment their key belongs to. */
  const who = async (request: Parameters<typeof guard.principal>[0]) => {
    const { admin } = guard.principal(request);
    const env = await services.store.environments.get(admin.envId);
    if (!env) throw new CoreError('invalid_token', 'the admin key has no environment', { logReason: 'environment gone' });
    return { admin, env };
  };

  r.post(REGISTRATION_CODE_PATH, {
    schema: {
      tags: ['rsa'],
      operationId: 'createDeviceRegistrationCode',
      summary: 'Retrieve a device registration code (RSA deviceRegistrationCode)',
      security: adminJwt(),
      description: 'Authorization: Bearer <admin JWT>. Body exactly {email, appId} or {username, appId}. A new code replaces the user\'s unused one.',
      body: registrationCodeBody,
      response: {
        200: registrationCodeResponse,
        ...errors({ 403: 'Not allowed: no valid admin JWT, or the code is refused (not licensed, user disabled, a device already registered)', 404: 'User not found' }),
      },
    },
    ...adminRoute,
    handler: async (request, reply) => {
      const { admin, env } = await who(request);
      const body = request.body as { email?: string; username?: string; appId: string };
      const issued = await services.registration.issue(env, userRef(body), body.appId, ref.adminKey(admin.accessId));
      reply.header('cache-control', 'no-store');
      return {
        companyID: env.companyId,
        deviceRegistrationCode: issued.code,
        ...(body.email === undefined ? { username: body.username } : { email: body.email }),
        expirationDate: iso(issued.expiresAt),
      };
    },
  });

  r.post(`${ADMIN}/v1/users/lookup`, {
    schema: {
      tags: ['rsa'],
      operationId: 'lookUpUser',
      summary: 'Retrieve user details by email or username',
      security: adminJwt(),
      body: lookupBody,
      response: { 200: userDetails, ...errors({ 404: 'User not found' }) },
    },
    ...adminRoute,
    handler: async (request) => {
      const { env } = await who(request);
      const user = await services.registration.findUser(env, userRef(request.body as { email?: string; username?: string }));
      if (!user) throw new CoreError('not_found', 'User not found.');
      return userJson(user);
    },
  });

  r.get(`${ADMIN}/v1/users/:userId/devices`, {
    schema: {
      tags: ['rsa'], operationId: 'listUserDevices', summary: 'List the user\'s registered devices', security: adminJwt(), params: userParams,
      response: { 200: devicesResponse, ...errors({ 404: 'User not found' }) },
    },
    ...adminRoute,
    handler: async (request) => {
      const { env } = await who(request);
      const devices = await services.registration.devices(env, request.params.userId);
      return { userId: request.params.userId, devices: devices.map(deviceJson) };
    },
  });

  r.delete(`${ADMIN}/v1/users/:userId/devices/:deviceId`, {
    schema: {
      tags: ['rsa'],
      operationId: 'deleteUserDevice',
      summary: 'Unregister a device (super admins only); a new registration code can then be issued',
      security: adminJwt(),
      params: userParams.extend({ deviceId: idParam('Device id') }),
      // type null: the 200 has no body at all (OpenAPI: no content), yet the handler may send() nothing.
      response: {
        200: z.void().meta({ type: 'null', description: 'Empty body: the user and the device were found, and the device is gone' }),
        ...errors({ 403: 'Not allowed: no valid admin JWT, or the admin key is not a super admin\'s', 404: 'User or device not found' }),
      },
    },
    ...adminRoute,
    handler: async (request, reply) => {
      const { admin, env } = await who(request);
      requireSuperAdmin(admin);
      await services.registration.unregister(env, request.params.userId, request.params.deviceId);
      return reply.code(200).send();
    },
  });

  r.post(REDEMPTION_PATH, {
    schema: {
      tags: ['rsa'],
      operationId: 'redeemDeviceRegistrationCode',
      summary: 'Redeem a registration code: the authenticator app registers the user\'s one device',
      body: redemptionBody,
      // 503: the device could not be stored (the database is full or cannot be reached), or the code not checked (Redis unreachable); Retry-After.
      response: {
        201: device.meta({ description: 'The device is registered' }),
        ...errorResponses(described(rsaError), [400, 403, 405, 409, 415, 429, 500, 503], {
          400: 'A malformed body, or a code that is unknown, expired or used',
          403: 'The registration is refused: the user is disabled',
          409: 'The user already has a registered device',
        }),
      },
    },
    config: { rateLimit: limitBy(deviceRegistration, sourceKey) },
    handler: async (request, reply) => {
      const body = request.body as { deviceRegistrationCode: string; appId: string; deviceName: string; platform: string };
      const registered = await services.registration.redeem({
        code: body.deviceRegistrationCode, appId: body.appId, deviceName: body.deviceName, platform: body.platform,
      }, sourceKey(request));
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(deviceJson(registered));
    },
  });

  // Spring answers other methods with 405; so do we, in RSA's body.
  methodNotAllowed(app, REGISTRATION_CODE_PATH, ['POST']);
  methodNotAllowed(app, `${ADMIN}/v1/users/lookup`, ['POST']);
  methodNotAllowed(app, `${ADMIN}/v1/users/:userId/devices`, ['GET', 'HEAD']);
  methodNotAllowed(app, `${ADMIN}/v1/users/:userId/devices/:deviceId`, ['DELETE']);
  methodNotAllowed(app, REDEMPTION_PATH, ['POST']);
};
