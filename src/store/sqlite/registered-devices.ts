// Registered authenticator devices: at most one per user.
import type { RegisteredDevice } from '../../model/records.ts';
import type { RegisteredDeviceStore } from '../store.ts';
import { type SqliteDb } from './db.ts';
import { toRegisteredDevice } from '../rows.ts';


export class SqliteRegisteredDevices implements RegisteredDeviceStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  listForUser(envId: string, userId: string): Promise<RegisteredDevice[]> {
    return this.#db.async(() => this.#db.all(
      'SELECT * FROM registered_devices WHERE env_id = ? AND user_id = ? ORDER BY registered_at', envId, userId).map(toRegisteredDevice));
  }

  delete(envId: string, userId: string, deviceId: string): Promise<boolean> {
    return this.#db.async(() => this.#db.run(
      'DELETE FROM registered_devices WHERE env_id = ? AND user_id = ? AND id = ?', envId, userId, deviceId) === 1);
  }
}
