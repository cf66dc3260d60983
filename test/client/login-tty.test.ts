// `device-code-server login` on a real pseudo-terminal (tmux): the QR code, the URL and the code are
// drawn, the spinner turns while it polls, and after approval the token is printed and the spinner
// line is gone. The pane is read with `capture-pane`, which shows the screen as a person sees it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { tempDir } from '../helpers/build.ts';
import { decide } from '../oauth/_support.ts';
import { JWT, listeningServer } from './_support.ts';

const TMUX = '/usr/bin/tmux';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPINNER = /([⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]) Waiting for approval… code expires in \d+:\d\d \(checking every 1 s\)/;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

test('login on a terminal: QR code, URL, code, spinner, then the token', { skip: existsSync(TMUX) ? false : `${TMUX} is missing: install tmux to run the pseudo-terminal test` }, async (t) => {
  const { h, base } = await listeningServer(t);
  const client = await h.publicClient({ pollInterval: 1 });
  const user = await h.user('terry');
  const dir = tempDir(t);

  // A private tmux server on its own socket: nothing shared with anyone else's tmux, and killing it
  // ends only this test's session.
  const socket = path.join(dir, 'tmux.sock');
  const tmux = (...args: string[]): string => {
    const r = spawnSync(TMUX, ['-S', socket, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, `tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  t.after(() => { spawnSync(TMUX, ['-S', socket, 'kill-server']); });

  const script = path.join(dir, 'login.sh');
  writeFileSync(script, [
    'unset NODE_TEST_CONTEXT NODE_OPTIONS',
    `cd ${shellQuote(ROOT)}`,
    `${shellQuote(process.execPath)} bin/device-code-server.js login --issuer ${shellQuote(base)} --client-id ${shellQuote(client.clientId)}`,
    'echo "EXIT=$?"',
    'sleep 600',
    '',
  ].join('\n'));
  tmux('new-session', '-d', '-s', 'login', '-x', '120', '-y', '50', `sh ${shellQuote(script)}`);

  // -J joins wrapped lines: the token is longer than the pane is wide.
  const screen = (): string => tmux('capture-pane', '-p', '-J', '-t', 'login');
  async function waitFor(what: string, ok: (text: string) => boolean, ms = 15_000): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const text = screen();
      if (ok(text)) return text;
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}; the screen:\n${text}`);
      await sleep(50);
    }
  }

  const first = await waitFor('the spinner', (s) => SPINNER.test(s));
  const userCode = /Your one-time code: ([A-Z]{4}-[A-Z]{4})/.exec(first)?.[1];
  assert.ok(userCode !== undefined, first);
  assert.ok(first.includes(`Open ${base}/device in a browser`), first);
  assert.ok(first.includes(`${base}/device?user_code=${userCode}`), first);
  // The QR code: a block of lines drawn only with half blocks (two modules per cell) and spaces.
  const qrLines = first.split('\n').filter((l) => /^[ ▀▄█]{20,}$/.test(l.trimEnd()) && /[▀▄█]/.test(l));
  assert.ok(qrLines.length >= 10, `a QR code of at least 10 rows, got ${qrLines.length}:\n${first}`);

  // It turns: more than one frame shows up while it waits.
  const frames = new Set<string>();
  const until = Date.now() + 3000;
  while (frames.size < 2 && Date.now() < until) {
    const frame = SPINNER.exec(screen())?.[1];
    if (frame !== undefined) frames.add(frame);
    await sleep(60);
  }
  assert.ok(frames.size >= 2, `the spinner turns, saw: ${[...frames].join(' ')}`);

  await decide(h, userCode, user, true);
  const last = await waitFor('the token', (s) => s.includes('EXIT='));
  assert.match(last, /EXIT=0/);
  assert.match(last, /✓ Signed in to /);
  assert.doesNotMatch(last, /Waiting for approval/, 'the spinner line is cleared');
  const token = last.split('\n').map((l) => l.trim()).find((l) => JWT.test(l));
  assert.ok(token !== undefined, last);
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${base}/oauth/jwks`)), { issuer: base, audience: base });
  assert.equal(payload.sub, user.id);
});
