// The page's languages (README "Branding and languages"): which one a request gets, and its words,
// numbers, dates and relative times. The choice: the `lang` query parameter of the page's language
// links (remembered in a cookie), else the browser's Accept-Language (RFC 9110 §12.5.4, q-values;
// `de-CH` is German), else English. Intl formats in the person's own locale where Accept-Language
// names one of the chosen language (`de-CH` formats as Swiss German), else in the language's.
import { escapeHtml, escapeText, html, SafeHtml, type HtmlPart } from '../html.ts';
import { de } from './de.ts';
import { en, type Catalogue, type MessageKey } from './en.ts';
import { es } from './es.ts';
import { fr } from './fr.ts';
import { ja } from './ja.ts';

export { type Catalogue, type MessageKey } from './en.ts';

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'ja'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Lang = 'en';
export const CATALOGUES: Readonly<Record<Lang, Catalogue>> = { en, de, fr, es, ja };

/** The cookie the language links set, so the next steps (and form posts) keep the choice. */
export const LANGUAGE_COOKIE = 'dcs_lang';

/** The {placeholders} of a message, from its English text. */
type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | Placeholders<Rest> : never;
type ParamsOf<K extends MessageKey> = Placeholders<(typeof en)[K]>;
/** No argument for a message without placeholders; otherwise exactly its placeholders. */
type Args<K extends MessageKey, V> = [ParamsOf<K>] extends [never] ? [] : [params: Record<ParamsOf<K>, V>];
/** A plural message's placeholders but {count}, which the count fills. */
type PluralArgs<K extends MessageKey, V> = [Exclude<ParamsOf<K>, 'count'>] extends [never] ? [] : [params: Record<Exclude<ParamsOf<K>, 'count'>, V>];
/** The messages without placeholders. */
export type PlainKey = { [K in MessageKey]: [ParamsOf<K>] extends [never] ? K : never }[MessageKey];
/** The messages whose placeholders are exactly `P`. */
export type KeyWith<P extends string> = { [K in MessageKey]: [ParamsOf<K>] extends [P] ? ([P] extends [ParamsOf<K>] ? K : never) : never }[MessageKey];
/** The stems of plural messages: `x` where both `x.one` and `x.other` exist. */
export type PluralKey = { [K in MessageKey]: K extends `${infer B}.other` ? (`${B}.one` extends MessageKey ? B : never) : never }[MessageKey];

const PLACEHOLDER = /\{(\w+)\}/g;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The language of a BCP 47 tag if the page speaks it: its primary subtag (`de-CH` → de). */
export function languageOf(tag: string): Lang | undefined {
  const primary = tag.trim().split('-')[0]?.toLowerCase();
  return LANGUAGES.find((l) => l === primary);
}

/** A tag Intl accepts, in canonical form, or undefined. */
function canonicalLocale(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/**
 * The language ranges of an Accept-Language header, most wanted first (ties keep their order);
 * malformed entries and q=0 ("not acceptable") are left out. A long header is read up to a bound.
 */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (header === undefined) return [];
  const ranges: { tag: string; q: number; i: number }[] = [];
  for (const [i, item] of header.slice(0, 2000).split(',').slice(0, 50).entries()) {
    const [range = '', ...params] = item.split(';').map((p) => p.trim());
    if (!/^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/.test(range)) continue;
    let q = 1;
    let valid = true;
    for (const p of params) {
      const m = /^[qQ]\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.exec(p);
      if (m?.[1] === undefined) valid = false;
      else q = Number(m[1]);
    }
    if (valid && q > 0) ranges.push({ tag: range, q, i });
  }
  return ranges.sort((a, b) => b.q - a.q || a.i - b.i).map((r) => r.tag);
}

/** What a request asks for: the language link's parameter, the cookie it set, the browser's header. */
export interface LanguageWish {
  query?: string;
  cookie?: string;
  acceptLanguage?: string;
}

/** The page's language for a request, and the locale Intl formats in. */
export function negotiate(wish: LanguageWish): Translator {
  const ranges = parseAcceptLanguage(wish.acceptLanguage);
  const chosen = [wish.query, wish.cookie].map((v) => (v === undefined ? undefined : languageOf(v))).find((l) => l !== undefined)
    ?? ranges.map(languageOf).find((l) => l !== undefined) ?? DEFAULT_LANGUAGE;
  // The person's own variant of the chosen language (de-CH, en-GB), when their browser names one.
  const own = ranges.find((r) => languageOf(r) === chosen);
  return new Translator(chosen, (own === undefined ? undefined : canonicalLocale(own)) ?? chosen);
}

/** One language's words and Intl formats (each made once, on first use). */
export class Translator {
  readonly lang: Lang;
  /** The BCP 47 tag Intl formats with. */
  readonly locale: string;
  readonly #messages: Catalogue;
  #relative: Intl.RelativeTimeFormat | undefined;
  #regions: Intl.DisplayNames | undefined;
  #plurals: Intl.PluralRules | undefined;

  constructor(lang: Lang, locale: string = lang) {
    this.lang = lang;
    this.locale = locale;
    this.#messages = CATALOGUES[lang];
  }

  /** A message as text, its placeholders filled (for the title, attributes and plain sentences). */
  text<K extends MessageKey>(key: K, ...args: Args<K, string | number>): string {
    const params = (args[0] ?? {}) as Record<string, string | number>;
    return this.#messages[key].replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
  }

  /**
   * A message as HTML for text and double-quoted attributes: its own words escaped for those places,
   * each placeholder's value escaped like any value from outside unless it is already HTML.
   */
  html<K extends MessageKey>(key: K, ...args: Args<K, HtmlPart>): SafeHtml {
    const params = (args[0] ?? {}) as Record<string, HtmlPart>;
    const message = this.#messages[key];
    let out = '';
    let at = 0;
    for (const m of message.matchAll(PLACEHOLDER)) {
      const name = m[1] ?? '';
      out += escapeText(message.slice(at, m.index));
      out += Object.hasOwn(params, name) ? html`${params[name]}`.value : escapeHtml(m[0]);
      at = m.index + m[0].length;
    }
    return new SafeHtml(out + escapeText(message.slice(at)));
  }

  /** The plural form of `stem` for `count` ({count} is filled with the number in the locale's digits). */
  plural<B extends PluralKey>(stem: B, count: number, ...args: PluralArgs<`${B}.other`, string | number>): string {
    this.#plurals ??= new Intl.PluralRules(this.locale);
    const key = (this.#plurals.select(count) === 'one' ? `${stem}.one` : `${stem}.other`) as MessageKey;
    const params = { ...(args[0] ?? {}), count: count.toLocaleString(this.locale) } as Record<string, string | number>;
    return (this.text as (k: MessageKey, p: Record<string, string | number>) => string)(key, params);
  }

  /** A country's name in this language from its ISO 3166-1 alpha-2 code (`DE` → `Deutschland`); null for none. */
  country(code: string | null): string | null {
    if (code === null || !/^[A-Z]{2}$/.test(code)) return null;
    this.#regions ??= new Intl.DisplayNames([this.locale], { type: 'region', fallback: 'code' });
    try {
      return this.#regions.of(code) ?? code;
    } catch {
      return code;
    }
  }

  /** How long ago, in words, rounded down: "less than a minute ago", "2 minutes ago", "3 days ago". */
  ago(ms: number): string {
    if (ms < MINUTE) return this.text('time.lessThanMinuteAgo');
    const [n, unit] = span(ms);
    return this.#rtf().format(-n, unit);
  }

  /** How long until, in words, rounded down: "in 8 minutes" (the caller words "less than a minute"). */
  within(ms: number): string {
    const [n, unit] = span(Math.max(ms, MINUTE));
    return this.#rtf().format(n, unit);
  }

  /** A wait in words: "30 seconds" under a minute, "about 9 minutes" above. */
  wait(seconds: number): string {
    const unit = (u: 'second' | 'minute', n: number) => new Intl.NumberFormat(this.locale, { style: 'unit', unit: u, unitDisplay: 'long' }).format(n);
    return seconds < 60 ? unit('second', seconds) : this.text('error.about', { duration: unit('minute', Math.ceil(seconds / 60)) });
  }

  /**
   * A moment as a date and time in this locale, in UTC and saying so: without JavaScript the page
   * cannot know the reader's time zone, so it shows relative times and offers this one beside them.
   */
  dateTime(ms: number): string {
    return new Intl.DateTimeFormat(this.locale, {
      year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short',
    }).format(ms);
  }

  #rtf(): Intl.RelativeTimeFormat {
    this.#relative ??= new Intl.RelativeTimeFormat(this.locale, { numeric: 'always' });
    return this.#relative;
  }
}

/** A span of time as a whole number of its largest unit, rounded down. */
function span(ms: number): [number, Intl.RelativeTimeFormatUnit] {
  if (ms < HOUR) return [Math.floor(ms / MINUTE), 'minute'];
  if (ms < DAY) return [Math.floor(ms / HOUR), 'hour'];
  if (ms < 30 * DAY) return [Math.floor(ms / DAY), 'day'];
  if (ms < 365 * DAY) return [Math.floor(ms / (30 * DAY)), 'month'];
  return [Math.floor(ms / (365 * DAY)), 'year'];
}

/** Every language, each named in its own words, for the language links. */
export function languageNames(): { lang: Lang; name: string }[] {
  return LANGUAGES.map((lang) => ({ lang, name: CATALOGUES[lang]['language.name'] }));
}

export const ENGLISH = new Translator('en');
