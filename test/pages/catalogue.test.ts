// The page's message catalogues (src/surfaces/pages/i18n/): every language has every key English
// defines and no other, no message is empty, each message has exactly English's {placeholders},
// and every key is used by the page (a key nothing renders is a translation nobody sees).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { en } from '../../src/surfaces/pages/i18n/en.ts';
import { CATALOGUES, LANGUAGES, negotiate, parseAcceptLanguage, Translator } from '../../src/surfaces/pages/i18n/index.ts';

const PAGES = path.resolve(import.meta.dirname, '../../src/surfaces/pages');
const placeholders = (message: string): string[] => [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

test('every catalogue has exactly English\'s keys, none empty, each with English\'s {placeholders}', () => {
  const keys = Object.keys(en).sort();
  assert.deepEqual([...LANGUAGES].sort(), ['de', 'en', 'es', 'fr', 'ja']);
  for (const lang of LANGUAGES) {
    const catalogue: Record<string, string> = CATALOGUES[lang];
    assert.deepEqual(Object.keys(catalogue).sort(), keys, `${lang}: the keys differ from English's`);
    for (const key of keys) {
      const message = catalogue[key] ?? '';
      assert.notEqual(message.trim(), '', `${lang}: ${key} is empty`);
      assert.deepEqual(placeholders(message), placeholders(en[key as keyof typeof en]), `${lang}: ${key} has other placeholders than English's: ${message}`);
      assert.doesNotMatch(message, /\{(?!\w+\})|(?<!\{\w+)\}/, `${lang}: ${key} has a stray brace: ${message}`);
    }
  }
});

test('every key is used by the page (plural keys by their stem; a key the page asks for but no catalogue has does not compile)', () => {
  const sources = [...readdirSync(PAGES, { recursive: true, encoding: 'utf8' })]
    .filter((f) => f.endsWith('.ts') && !/^i18n[/\\](?:en|de|fr|es|ja)\.ts$/.test(f))
    .map((f) => readFileSync(path.join(PAGES, f), 'utf8'))
    .join('\n');
  const used = new Set([...sources.matchAll(/'([a-zA-Z_]+(?:\.[a-zA-Z_]+)+)'/g)].map((m) => m[1] ?? ''));
  for (const key of Object.keys(en)) {
    const stem = /^(.*)\.(?:one|other)$/.exec(key)?.[1];
    assert.ok(used.has(key) || (stem !== undefined && used.has(stem)), `${key} is in the catalogue but no page uses it`);
  }
});

test('Accept-Language: q-values order the ranges, q=0 and malformed entries drop out, a region falls back to its language', () => {
  assert.deepEqual(parseAcceptLanguage('fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5'), ['fr-CH', 'fr', 'en', 'de', '*']);
  assert.deepEqual(parseAcceptLanguage('en;q=0.1, ja;q=0.9, de'), ['de', 'ja', 'en']);
  assert.deepEqual(parseAcceptLanguage('es;q=0, de;q=1.5, fr;q=abc, x_y, ja;q=0.001, en;q=1.000'), ['en', 'ja']);
  assert.deepEqual(parseAcceptLanguage(undefined), []);
  assert.deepEqual(parseAcceptLanguage(''), []);
  const pick = (header: string) => {
    const t = negotiate({ acceptLanguage: header });
    return [t.lang, t.locale];
  };
  assert.deepEqual(pick('de-CH,de;q=0.9,en;q=0.8'), ['de', 'de-CH']);
  assert.deepEqual(pick('zh-TW, ja;q=0.5, en;q=0.4'), ['ja', 'ja']);
  assert.deepEqual(pick('pt-BR, it'), ['en', 'en'], 'nothing the page speaks: English');
  assert.deepEqual(pick('en;q=0, de;q=0'), ['en', 'en'], 'nothing acceptable is still English');
  assert.deepEqual(pick('ES-mx;q=0.8, fr;q=0.7'), ['es', 'es-MX']);
  // The language link, then its cookie, come before the browser's header; a tag the page does not speak is ignored.
  assert.equal(negotiate({ query: 'ja', cookie: 'fr', acceptLanguage: 'de' }).lang, 'ja');
  assert.equal(negotiate({ query: 'xx', cookie: 'fr', acceptLanguage: 'de' }).lang, 'fr');
  assert.equal(negotiate({ cookie: 'nonsense', acceptLanguage: 'de' }).lang, 'de');
  // A chosen language formats in the person's own variant of it when the header names one.
  assert.equal(negotiate({ query: 'de', acceptLanguage: 'en-US, de-AT;q=0.5' }).locale, 'de-AT');
});

test('relative times, waits and dates come out in each language\'s own words', () => {
  const minutes = (n: number) => n * 60_000;
  const words = (lang: 'en' | 'de' | 'fr' | 'es' | 'ja') => {
    const t = new Translator(lang);
    return [t.ago(minutes(2.5)), t.within(minutes(8.9)), t.ago(30_000), t.ago(minutes(60 * 26)), t.wait(30), t.wait(530),
      t.dateTime(Date.UTC(2026, 0, 1, 12, 0)), t.country('DE'), t.plural('wrongCode.left', 1)];
  };
  assert.deepEqual(words('en'), ['2 minutes ago', 'in 8 minutes', 'less than a minute ago', '1 day ago', '30 seconds', 'about 9 minutes',
    'January 1, 2026 at 12:00 PM UTC', 'Germany',
    'That code is not right. Check the code on your device and try again. You have 1 attempt left.']);
  assert.deepEqual(words('de'), ['vor 2 Minuten', 'in 8 Minuten', 'vor weniger als einer Minute', 'vor 1 Tag', '30 Sekunden', 'etwa 9 Minuten',
    '1. Januar 2026 um 12:00 UTC', 'Deutschland',
    'Dieser Code ist nicht richtig. Prüfen Sie den Code auf Ihrem Gerät und versuchen Sie es erneut. Sie haben noch 1 Versuch.']);
  assert.equal(words('fr')[0], 'il y a 2 minutes');
  assert.equal(words('es')[1], 'dentro de 8 minutos');
  assert.deepEqual(words('ja').slice(0, 2), ['2 分前', '8 分後']);
  assert.equal(new Translator('ja').country('US'), 'アメリカ合衆国');
  assert.equal(new Translator('en').plural('wrongCode.left', 4), 'That code is not right. Check the code on your device and try again. You have 4 attempts left.');
});
