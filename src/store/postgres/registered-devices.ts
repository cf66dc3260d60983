// Registered authenticator devices: at most one per user.
import type { RegisteredDevice } from '../../model/records.ts';
import type { RegisteredDeviceStore } from '../store.ts';
import { type PgDb } from './db.ts';
import { toRegisteredDevice } from '../rows.ts';

const COLUMNS = 'id, env_id, user_id, app_id, device_name, platform, registered_at';


export class PgRegisteredDevices implements RegisteredDeviceStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  listForUser(envId: string, userId: string): Promise<RegisteredDevice[]> {
    return this.#db.all(toRegisteredDevice, {
      text: `SELECT ${COLUMNS} FROM registered_devices WHERE env_id = $1 AND user_id = $2 ORDER BY registered_at`, values: [envId, userId],
    });
  }

  async delete(envId: string, userId: string, deviceId: string): Promise<boolean> {
    return await this.#db.run({
      text: 'DELETE FROM registered_devices WHERE env_id = $1 AND user_id = $2 AND id = $3', values: [envId, userId, deviceId],
    }) === 1;
  }
}
