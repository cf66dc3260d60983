// Which environment a request addresses: its `envId` path parameter, or the default one at the root.
// An id that names no environment (malformed or unknown) is a 404 on every surface.
import { CoreError } from '../core/errors.ts';
import type { Environment } from '../model/records.ts';
import type { EnvironmentStore } from '../store/store.ts';

/** What the lookup needs of the services (structural, so http/ does not import services.ts). */
export interface EnvironmentSource {
  defaultEnv: Environment;
  store: { environments: EnvironmentStore };
}

export async function environmentFor(services: EnvironmentSource, envId: string | undefined): Promise<Environment> {
  if (envId === undefined) return services.defaultEnv;
  const env = await services.store.environments.get(envId.toLowerCase());
  if (!env) throw new CoreError('route_not_found', 'unknown environment');
  return env;
}
