// The one store contract, which every implementation passes, as a function of how to open stores:
// test/store/sqlite.test.ts and test/store/postgres.test.ts run it on their store. Its guess-store
// part is a function of guess stores alone, so test/redis/guesses.test.ts runs it on Redis too.
import { auditContract } from './audit.ts';
import { deviceContract } from './device-authorizations.ts';
import type { OpenStores } from './fixtures.ts';
import { grantContract } from './grants.ts';
import { guessContract } from './guesses.ts';
import { identityContract } from './identity-providers.ts';
import { raceContract } from './races.ts';
import { recordContract } from './records.ts';

export type { OpenStores } from './fixtures.ts';

export function storeContract(open: OpenStores): void {
  recordContract(open);
  identityContract(open);
  deviceContract(open);
  grantContract(open);
  guessContract(async (t, count) => (await open(t, count)).map((s) => s.guesses));
  raceContract(open);
  auditContract(open);
}
