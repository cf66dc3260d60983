// Opens the same services the server uses, on the same database, for one command, and always
// closes them again (the database handle must not outlive the command).
import { loadConfig } from '../config.ts';
import type { Environment } from '../model/records.ts';
import { openServices, type Services } from '../services.ts';
import type { Args } from './args.ts';
import { warn, type Io } from './io.ts';

export async function withServices<T>(io: Io, fn: (services: Services) => Promise<T>): Promise<T> {
  const services = await openServices(loadConfig());
  try {
    if (services.generatedSecretFile !== undefined) {
      warn(io, `generated a new server secret in ${services.generatedSecretFile}; back it up with the database, or set SERVER_SECRET_FILE`);
    }
    return await fn(services);
  } finally {
    await services.close();
  }
}

/** Services plus the environment named by --env (the default environment without it). */
export function withEnvironment<T>(args: Args, io: Io, fn: (services: Services, env: Environment) => Promise<T>): Promise<T> {
  return withServices(io, async (services) => fn(services, await services.admin.resolveEnvironment(args.string('env'))));
}
