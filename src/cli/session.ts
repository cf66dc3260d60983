// Opens the same services the server uses, on the same database, for one command, and always
// closes them again (the database handle must not outlive the command).
import { existsSync } from 'node:fs';
import { loadConfig, type Config } from '../config.ts';
import type { Environment } from '../model/records.ts';
import { openServices, type Services } from '../services.ts';
import { InputError, INIT_FLAG, type Args } from './args.ts';
import { warn, type Io } from './io.ts';

/**
 * A command run from the wrong directory (DATA_DIR is ./data by default) would otherwise create a
 * new, empty database there and act on it, a client or user nobody's server knows: it is refused,
 * saying where it looked, unless the command creates databases or --init says to. PostgreSQL
 * (DATABASE_URL) names its database outright.
 */
function assertDatabaseExists(args: Args, config: Config): void {
  if (args.mayCreateDatabase || config.databaseUrl !== undefined || existsSync(config.databasePath)) return;
  throw new InputError(`${args.command}: no database at ${config.databasePath}; run it from the directory the server runs in, `
    + `or set DATA_DIR (or DATABASE_PATH) to the server's; ${INIT_FLAG} creates a new, empty database there`);
}

export async function withServices<T>(args: Args, io: Io, fn: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  assertDatabaseExists(args, config);
  const services = await openServices(config, { instance: false });
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
  return withServices(args, io, async (services) => fn(services, await services.admin.resolveEnvironment(args.string('env'))));
}
