// A tiny HTML template helper: every interpolated value is escaped unless it is already SafeHtml
// (the output of another `html` template). There is no other way to put text into a page.

export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

export type HtmlPart = SafeHtml | string | number | boolean | null | undefined | readonly HtmlPart[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

function part(value: HtmlPart): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return (value as readonly HtmlPart[]).map(part).join('');
  // false, null and undefined render nothing, so `${cond && html`…`}` works.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

const TEXT_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * Escapes the page's own words (the message catalogues) for text and double-quoted attributes, the
 * only places this page puts them; apostrophes stay as they are. Values from outside use escapeHtml.
 */
export function escapeText(text: string): string {
  return text.replace(/[&<>"]/g, (c) => TEXT_ENTITIES[c] ?? c);
}

/** `html\`<p>${text}</p>\`` escapes `text`; nested `html` results are kept as they are. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlPart[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += part(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}
