// DATA_DIR/server.lock on its own (the serve processes around it: test/cli/loud-mistakes.test.ts):
// a live holder is named, and what no live server holds is taken over: a dead pid, this process's
// own pid or its parent's (a restarted container gets its predecessor's pid), or an unreadable file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SERVER_LOCK_FILE, takeServerLock, type ServerLock } from '../../src/store/sqlite/server-lock.ts';
import { tempDir } from '../helpers/build.ts';

function taken(lock: ReturnType<typeof takeServerLock>): ServerLock {
  assert.ok('release' in lock, `expected the lock, got its holder ${JSON.stringify(lock)}`);
  return lock;
}

test('a new directory gets a 0600 lock file holding this pid, which release removes', (t) => {
  const dir = path.join(tempDir(t), 'new', 'data');
  const lock = taken(takeServerLock(dir));
  assert.equal(lock.file, path.join(dir, SERVER_LOCK_FILE));
  assert.equal(readFileSync(lock.file, 'utf8'), `${process.pid}\n`);
  assert.equal(statSync(lock.file).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  lock.release();
  assert.equal(existsSync(lock.file), false);
  lock.release(); // twice is fine
});

test('a live process holding the lock is named; its file is left alone', async (t) => {
  const dir = tempDir(t);
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  assert.ok(holder.pid !== undefined);
  const file = path.join(dir, SERVER_LOCK_FILE);
  writeFileSync(file, `${holder.pid}\n`);
  assert.deepEqual(takeServerLock(dir), { file, pid: holder.pid });
  assert.equal(readFileSync(file, 'utf8'), `${holder.pid}\n`);

  const exited = once(holder, 'exit');
  holder.kill('SIGKILL');
  await exited;
  const lock = taken(takeServerLock(dir));
  assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`, 'a dead holder\'s lock is taken over');
  lock.release();
});

test('a lock naming this process or its parent, or holding no pid, is stale', (t) => {
  for (const content of [`${process.pid}\n`, `${process.ppid}\n`, '', 'not a pid\n', '-1\n']) {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, SERVER_LOCK_FILE), content);
    const lock = taken(takeServerLock(dir));
    assert.equal(readFileSync(lock.file, 'utf8'), `${process.pid}\n`, JSON.stringify(content));
    lock.release();
  }
});

test('release leaves a lock that is no longer this process\'s', (t) => {
  const dir = tempDir(t);
  const lock = taken(takeServerLock(dir));
  writeFileSync(lock.file, '1\n'); // another holder's now (pid 1 is alive)
  lock.release();
  assert.equal(readFileSync(lock.file, 'utf8'), '1\n');
});
