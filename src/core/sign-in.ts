// Password sign-in, the one implementation behind the verification page, the flow API and the
// Veeam password grant. Unknown users cost a real scrypt check too, so the time an answer takes
// does not reveal which usernames exist; every refusal is the same `invalid_credentials`.
import { decoyHash, verifyPassword } from '../crypto/passwords.ts';
import type { User } from '../model/records.ts';
import type { UserStore } from '../store/store.ts';
import { CoreError } from './errors.ts';

export async function signIn(users: UserStore, envId: string, username: string, password: string): Promise<User> {
  const user = await users.getByUsername(envId, username.normalize('NFKC').trim());
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
  if (!user || !ok || user.disabled) {
    throw new CoreError('invalid_credentials', 'the username or password is not correct', { target: 'password' });
  }
  return user;
}
