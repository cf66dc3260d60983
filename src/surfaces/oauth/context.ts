// Where an OAuth request lands: the default environment at the root, or /{envID}/as/… (PingOne style).
import { environmentFor } from '../../http/environment.ts';
import type { FastifyRequest } from 'fastify';
import type { Environment } from '../../model/records.ts';
import type { Services } from '../../services.ts';

export interface OAuthContext {
  env: Environment;
  issuer: string;
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  verificationUri: string;
}

export function rootContext(services: Services): OAuthContext {
  const base = services.config.publicUrl;
  return {
    env: services.defaultEnv,
    issuer: base,
    deviceAuthorizationEndpoint: `${base}/oauth/device_authorization`,
    tokenEndpoint: `${base}/oauth/token`,
    jwksUri: `${base}/oauth/jwks`,
    verificationUri: `${base}/device`,
  };
}

export function envContext(services: Services, env: Environment): OAuthContext {
  const issuer = `${services.config.publicUrl}/${env.id}/as`;
  return {
    env,
    issuer,
    deviceAuthorizationEndpoint: `${issuer}/device_authorization`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    verificationUri: `${services.config.publicUrl}/${env.id}/device`,
  };
}

/** The context of a request: by its `envId` path parameter when the route has one. */
export async function resolveContext(services: Services, request: FastifyRequest): Promise<OAuthContext> {
  const envId = (request.params as { envId?: string } | undefined)?.envId;
  return envId === undefined ? rootContext(services) : envContext(services, await environmentFor(services, envId));
}
