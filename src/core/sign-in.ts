// Password sign-in, the one implementation behind the verification page, the flow API and the
// Veeam password grant. Unknown users cost a real scrypt check too, so the time an answer takes
// does not reveal which usernames exist; every refusal is the same `invalid_credentials`. Wrong
// passwords are counted per account, whatever the source (docs/protocol.md): past the limit the account is
// refused before any hashing until the window ends, so a flood spends no CPU on it. Each attempt
// is taken from the budget before its hash is checked, in one atomic step (concurrent guesses
// cannot all slip past the count), and given back when the password was right. Unknown usernames are counted alike, so the throttle
// does not reveal which accounts exist either.
import { decoyHash, hashPassword, isWeakerThan, verifyPassword, type ScryptCost } from '../crypto/passwords.ts';
import type { Clock } from '../model/clock.ts';
import type { User } from '../model/records.ts';
import type { UserStore } from '../store/store.ts';
import { ref, type AuditTrail } from './audit.ts';
import { CoreError } from './errors.ts';
import type { RateLimiter } from './limiter.ts';

export class PasswordSignIn {
  readonly #users: UserStore;
  readonly #failures: RateLimiter;
  readonly #cost: ScryptCost;
  readonly #clock: Clock;
  readonly #audit: AuditTrail;

  constructor(users: UserStore, failuresPerAccount: RateLimiter, cost: ScryptCost, clock: Clock, audit: AuditTrail) {
    this.#users = users;
    this.#failures = failuresPerAccount;
    this.#cost = cost;
    this.#clock = clock;
    this.#audit = audit;
  }

  async signIn(envId: string, username: string, password: string): Promise<User> {
    const name = username.normalize('NFKC').trim();
    const account = `${envId}|${name}`;
    const budget = await this.#failures.take(account);
    if (!budget.allowed) {
      await this.#audit.limitExhausted(envId, 'account_sign_in', `username:${name}`, budget.resetSeconds, null);
      throw new CoreError('sign_in_throttled', 'too many failed sign-ins for this account; try again later', {
        target: 'password', retryAfter: budget.resetSeconds,
      });
    }
    const user = await this.#users.getByUsername(envId, name);
    // A federated user has no password (password_hash ''): refused whatever is typed, after a real
    // check against the decoy, so the answer's time does not tell that the account is federated.
    const federated = user !== undefined && user.idpIssuer !== null;
    const ok = await verifyPassword(password, user === undefined || federated ? await decoyHash(this.#cost) : user.passwordHash) && !federated;
    if (!user || !ok || user.disabled) {
      const reason = !user ? 'unknown_user' : federated ? 'federated_user' : user.disabled ? 'disabled' : 'wrong_password';
      // Nothing changed, so the event stands alone; the name tried is kept, never the password.
      await this.#audit.record(this.#audit.event({
        envId, type: 'signin.failed', actor: user ? ref.user(user.id) : null, outcome: 'failure',
        details: { username: name.slice(0, 256), reason, method: 'password' },
      }));
      throw new CoreError('invalid_credentials', 'the username or password is not correct', { target: 'password' });
    }
    await this.#failures.refund(account);
    // A hash made with less work than today's cost is replaced now, while the password is at hand.
    if (isWeakerThan(user.passwordHash, this.#cost)) {
      await this.#users.setPasswordHash(envId, user.id, user.passwordHash, await hashPassword(password, this.#cost), this.#clock.now());
    }
    return user;
  }
}
