// Which environment a request addresses, resolved once per request: its `envId` path parameter, or
// the default environment at the root. A front end whose routes are per environment adds
// `resolveEnvironment` as a hook once; its routes (and any added later) read `request.env` and
// `request.envUrls` and never re-derive them. An id that names no environment (malformed or
// unknown) is a 404 on every surface.
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { CoreError } from '../core/errors.ts';
import type { EnvironmentUrls, Urls } from '../core/urls.ts';
import type { Environment } from '../model/records.ts';
import type { EnvironmentStore } from '../store/store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The environment this request addresses (routes under `resolveEnvironment` only). */
    readonly env: Environment;
    /** Its endpoints as this request reached them: the root's URLs serve the default environment. */
    readonly envUrls: EnvironmentUrls;
  }
}

/** What the lookup needs of the services (structural, so http/ does not import services.ts). */
export interface EnvironmentSource {
  defaultEnv: Environment;
  store: { environments: EnvironmentStore };
  urls: Urls;
}

/**
 * `current`: the root's default environment is read from the store too, as every /{envID} request
 * reads its own, so settings changed meanwhile (by the CLI, another instance) apply at once; without
 * it the root serves the copy read at start (the token endpoint's hot path stays one read shorter).
 */
export async function environmentFor(services: Omit<EnvironmentSource, 'urls'>, envId: string | undefined, current = false): Promise<Environment> {
  if (envId === undefined) return current ? (await services.store.environments.get(services.defaultEnv.id)) ?? services.defaultEnv : services.defaultEnv;
  const env = await services.store.environments.get(envId.toLowerCase());
  if (!env) throw new CoreError('route_not_found', 'unknown environment');
  return env;
}

interface Resolved {
  env: Environment;
  urls: EnvironmentUrls;
}

const RESOLVED = Symbol('dcs.environment');
type WithResolved = FastifyRequest & { [RESOLVED]: Resolved | null };

function resolved(request: FastifyRequest): Resolved {
  const r = (request as WithResolved)[RESOLVED];
  // A programming error: a route read the environment without the hook that resolves it.
  if (r === null) throw new Error(`no environment was resolved for ${request.routeOptions.url ?? request.url}`);
  return r;
}

/** The request's environment if the hook has resolved it (an error page may be rendered before it ran). */
export function knownEnvironment(request: FastifyRequest): Environment | undefined {
  return (request as Partial<WithResolved>)[RESOLVED]?.env;
}

/** Declares request.env and request.envUrls on the app (once, in buildApp). */
export function decorateEnvironment(app: FastifyInstance): void {
  app.decorateRequest(RESOLVED, null);
  app.decorateRequest('env', { getter(this: FastifyRequest) { return resolved(this).env; } });
  app.decorateRequest('envUrls', { getter(this: FastifyRequest) { return resolved(this).urls; } });
}

/**
 * A preHandler (after the path and body are validated, before the caller is authenticated) that
 * resolves the request's environment once (`current`: see environmentFor).
 */
export function resolveEnvironment(services: EnvironmentSource, opts: { current?: boolean } = {}): preHandlerAsyncHookHandler {
  return async (request) => {
    const envId = (request.params as { envId?: string } | undefined)?.envId;
    const env = await environmentFor(services, envId, opts.current);
    (request as WithResolved)[RESOLVED] = { env, urls: services.urls.of(env, envId === undefined) };
  };
}
