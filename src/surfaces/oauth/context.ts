// Where an OAuth request lands: the default environment at the root, or /{envID}/as/… (PingOne style).
import type { FastifyRequest } from 'fastify';
import type { EnvironmentUrls } from '../../core/urls.ts';
import { environmentFor } from '../../http/environment.ts';
import type { Environment } from '../../model/records.ts';
import type { Services } from '../../services.ts';

export interface OAuthContext extends EnvironmentUrls {
  env: Environment;
}

/** The context of a request: by its `envId` path parameter when the route has one. */
export async function resolveContext(services: Services, request: FastifyRequest): Promise<OAuthContext> {
  const envId = (request.params as { envId?: string } | undefined)?.envId;
  const env = await environmentFor(services, envId);
  return { env, ...services.urls.of(env, envId === undefined) };
}
