// Password sign-in, the one implementation behind the verification page, the flow API and the
// Veeam password grant. Unknown users cost a real scrypt check too, so the time an answer takes
// does not reveal which usernames exist; every refusal is the same `invalid_credentials`. Wrong
// passwords are counted per account, whatever the source (SPEC S7): past the limit the account is
// refused before any hashing until the window ends, so a flood spends no CPU on it. Each attempt
// is counted before its hash is checked (concurrent guesses cannot all slip past the count) and
// given back when the password was right. Unknown usernames are counted alike, so the throttle
// does not reveal which accounts exist either.
import { decoyHash, verifyPassword } from '../crypto/passwords.ts';
import type { User } from '../model/records.ts';
import type { UserStore } from '../store/store.ts';
import { CoreError } from './errors.ts';
import type { FixedWindowLimiter } from './limiter.ts';

export class PasswordSignIn {
  readonly #users: UserStore;
  readonly #failures: FixedWindowLimiter;

  constructor(users: UserStore, failuresPerAccount: FixedWindowLimiter) {
    this.#users = users;
    this.#failures = failuresPerAccount;
  }

  async signIn(envId: string, username: string, password: string): Promise<User> {
    const name = username.normalize('NFKC').trim();
    const account = `${envId}|${name}`;
    const budget = this.#failures.hit(account);
    if (!budget.allowed) {
      throw new CoreError('sign_in_throttled', 'too many failed sign-ins for this account; try again later', {
        target: 'password', retryAfter: budget.resetSeconds,
      });
    }
    const user = await this.#users.getByUsername(envId, name);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (!user || !ok || user.disabled) {
      throw new CoreError('invalid_credentials', 'the username or password is not correct', { target: 'password' });
    }
    this.#failures.refund(account);
    return user;
  }
}
