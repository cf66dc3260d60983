// The one store contract, which every implementation of src/store/store.ts passes (so the engine
// never depends on which database it runs on; docs/architecture.md), as a function of how to open
// stores: test/store/sqlite.test.ts and test/store/postgres.test.ts run it on their store.
import { deviceContract } from './device-authorizations.ts';
import type { OpenStores } from './fixtures.ts';
import { grantContract } from './grants.ts';
import { raceContract } from './races.ts';
import { recordContract } from './records.ts';

export type { OpenStores } from './fixtures.ts';

export function storeContract(open: OpenStores): void {
  recordContract(open);
  deviceContract(open);
  grantContract(open);
  raceContract(open);
}
