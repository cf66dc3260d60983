// User codes as people type them (RFC 8628 §6.1, docs/protocol.md): case, spaces, any dash and NFKC folding
// are forgiven; a wrong, longer or vowel-bearing code is not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEVICE_CODE_PREFIX, formatUserCode, generateDeviceCode, generateUserCode, normalizeUserCode } from '../../src/crypto/codes.ts';
import { build } from '../helpers/build.ts';
import { decide, poll, startAuthorization } from './_support.ts';

const FORMAT = { charset: 'BCDFGHJKLMNPQRSTVWXZ', length: 8 };

/** Fullwidth forms: A-Z → U+FF21…, '-' → U+FF0D. */
function fullwidth(s: string): string {
  return s.replace(/[A-Z-]/g, (c) => (c === '-' ? '\uFF0D' : String.fromCodePoint(0xff21 + c.charCodeAt(0) - 0x41)));
}

describe('normalizeUserCode', () => {
  test('canonical input is returned as is', () => {
    assert.equal(normalizeUserCode('WDJBMJHT', FORMAT), 'WDJBMJHT');
  });

  test('case, whitespace, every kind of dash, dots and underscores are ignored', () => {
    for (const input of [
      'WDJB-MJHT', 'wdjb-mjht', 'wDjB mJhT', 'WDJB MJHT', '  WDJB-MJHT\n', 'WD JB MJ HT', 'WDJB\tMJHT', 'WDJB\u00A0MJHT',
      'WDJB\u2013MJHT', 'WDJB\u2014MJHT', 'WDJB\u2010MJHT', 'WDJB\u2212MJHT', 'WDJB.MJHT', 'WDJB_MJHT', 'WDJB--MJHT', '-WDJB-MJHT-',
    ]) {
      assert.equal(normalizeUserCode(input, FORMAT), 'WDJBMJHT', JSON.stringify(input));
    }
  });

  test('NFKC folds fullwidth letters and dashes', () => {
    assert.equal(fullwidth('WDJB-MJHT'), '\uFF37\uFF24\uFF2A\uFF22\uFF0D\uFF2D\uFF2A\uFF28\uFF34');
    assert.equal(normalizeUserCode(fullwidth('WDJB-MJHT'), FORMAT), 'WDJBMJHT');
    assert.equal(normalizeUserCode(fullwidth('WDJB-MJHT').toLowerCase(), FORMAT), 'WDJBMJHT');
    assert.equal(normalizeUserCode('１２３-４５６', { charset: '0123456789', length: 6 }), '123456');
  });

  test('anything that cannot be a code is undefined', () => {
    for (const input of [
      '', '-', 'WDJB-MJH', 'WDJB-MJHTX', 'WDJB-MJHA', 'AEIO-UBCD', 'WDJB-MJH1', 'WDJB/MJHT', 'WDJB+MJHT', 'WDJB\u0000MJHT',
      'WDJB-MJH\u00C9', `WDJB${' '.repeat(60)}MJHT`, 'W'.repeat(65),
    ]) {
      assert.equal(normalizeUserCode(input, FORMAT), undefined, JSON.stringify(input));
    }
  });

  test('the configured charset and length are honoured', () => {
    const digits = { charset: '0123456789', length: 9 };
    assert.equal(normalizeUserCode('012-345-678', digits), '012345678');
    assert.equal(normalizeUserCode('012-345-67', digits), undefined);
    assert.equal(normalizeUserCode('WDJBMJHT', digits), undefined);
  });
});

describe('code generation', () => {
  test('user codes: the configured length, drawn from the charset, shown as groups of four', () => {
    for (let i = 0; i < 200; i++) {
      const code = generateUserCode(FORMAT);
      assert.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      assert.equal(normalizeUserCode(formatUserCode(code), FORMAT), code);
    }
    assert.equal(formatUserCode('WDJBMJHT'), 'WDJB-MJHT');
    assert.equal(formatUserCode('ABCDEFGHIJ'), 'ABCD-EFGH-IJ');
  });

  test('device codes: dc_ prefix and 256 random bits', () => {
    const a = generateDeviceCode();
    assert.ok(a.startsWith(DEVICE_CODE_PREFIX));
    assert.equal(Buffer.from(a.slice(DEVICE_CODE_PREFIX.length), 'base64url').length, 32);
    assert.notEqual(a, generateDeviceCode());
  });
});

describe('findPendingByUserCode', () => {
  test('an issued code is found however it is typed', async (t) => {
    const h = await build(t);
    const client = await h.publicClient();
    const started = await startAuthorization(h, client);
    const display = started.user_code;
    const canonical = display.replace('-', '');
    const env = h.services.defaultEnv;
    const expected = await h.services.deviceFlow.findPendingByUserCode(env, display);
    assert.equal(expected.status, 'pending');
    assert.equal(expected.clientId, client.clientId);
    for (const typed of [
      display.toLowerCase(),
      canonical,
      canonical.toLowerCase(),
      display.replace('-', ' '),
      ` ${display.slice(0, 2)} ${display.slice(2)} `,
      display.replace('-', '\u2013'),
      display.replace('-', '\u2014'),
      fullwidth(display),
      new URL(started.verification_uri_complete).searchParams.get('user_code') ?? '',
    ]) {
      const found = await h.services.deviceFlow.findPendingByUserCode(env, typed);
      assert.equal(found.id, expected.id, JSON.stringify(typed));
    }
  });

  test('a wrong code, an extra letter, a missing letter or a vowel: invalid_user_code', async (t) => {
    const h = await build(t);
    const client = await h.publicClient();
    const started = await startAuthorization(h, client);
    const canonical = started.user_code.replace('-', '');
    const last = canonical.at(-1) ?? '';
    const other = FORMAT.charset[(FORMAT.charset.indexOf(last) + 1) % FORMAT.charset.length] ?? '';
    const env = h.services.defaultEnv;
    for (const typed of [
      canonical.slice(0, -1) + other, // a different, well-formed code
      `${started.user_code}B`,
      started.user_code.slice(0, -1),
      `${canonical.slice(0, -1)}A`,
      `${canonical.slice(0, 3)}E${canonical.slice(4)}`,
      '',
      'not a code at all',
    ]) {
      await assert.rejects(h.services.deviceFlow.findPendingByUserCode(env, typed), { name: 'CoreError', code: 'invalid_user_code' }, JSON.stringify(typed));
    }
  });

  test('a decided or expired code is reported as such, not as pending', async (t) => {
    const h = await build(t);
    const client = await h.publicClient({ codeLifetime: 60 });
    const user = await h.user();
    const env = h.services.defaultEnv;
    const approved = await startAuthorization(h, client);
    const expiring = await startAuthorization(h, client);
    await decide(h, approved.user_code, user, true);
    await assert.rejects(h.services.deviceFlow.findPendingByUserCode(env, approved.user_code.toLowerCase()), { code: 'user_code_used' });
    assert.equal((await poll(h, approved.device_code, client.clientId)).statusCode, 200);
    await assert.rejects(h.services.deviceFlow.findPendingByUserCode(env, approved.user_code), { code: 'user_code_used' });
    h.clock.advance(60);
    await assert.rejects(h.services.deviceFlow.findPendingByUserCode(env, expiring.user_code), { code: 'user_code_expired' });
  });
});
