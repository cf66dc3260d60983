// An environment's branding on the page (README "Branding and languages"): its colour as the CSS
// accent variables, its logo, and the Content-Security-Policy that admits the logo's origin and no
// other. Text on a coloured button is black or white, whichever contrasts more with the colour
// (WCAG 2.2 relative luminance and contrast ratio); links take the colour only where it reads
// against the card (4.5:1, WCAG 1.4.3), else they keep the page's own link colour.
import type { Branding } from '../../model/records.ts';
import { SafeHtml } from './html.ts';

/** The page's CSP without a logo; a logo adds its origin to img-src, and nothing else changes. */
export const PAGE_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Characters an origin may hold in a CSP source expression (core/branding.ts stores no other). */
const CSP_ORIGIN = /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$/;

/** The logo to show and the origin the CSP admits for it; undefined without one (or with one that cannot be named). */
export function logoOf(brand: Branding): { url: string; origin: string } | undefined {
  if (brand.logoUrl === null || !URL.canParse(brand.logoUrl)) return undefined;
  const { origin } = new URL(brand.logoUrl);
  return CSP_ORIGIN.test(origin) ? { url: brand.logoUrl, origin } : undefined;
}

export function pageCsp(brand: Branding): string {
  const logo = logoOf(brand);
  return logo === undefined ? PAGE_CSP : PAGE_CSP.replace("img-src 'self' data:", `img-src 'self' data: ${logo.origin}`);
}

const CARD_LIGHT = '#ffffff';
const CARD_DARK = '#1e293b';
const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/;

/** `#rgb` as `#rrggbb`. */
function sixDigits(color: string): string {
  return color.length === 4 ? `#${color.slice(1).replace(/./g, '$&$&')}` : color;
}

/** WCAG relative luminance of an sRGB colour `#rrggbb`. */
export function luminance(color: string): number {
  const hex = sixDigits(color);
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The text colour for a button of `color`: black or white, whichever contrasts more. */
export function textOn(color: string): '#000000' | '#ffffff' {
  return contrast(color, '#000000') >= contrast(color, '#ffffff') ? '#000000' : '#ffffff';
}

/** The accent variables for the environment's colour (light and dark schemes), as a second <style>; nothing without one. */
export function brandStyle(brand: Branding): SafeHtml | undefined {
  const color = brand.primaryColor;
  // Only a colour of the stored shape reaches CSS (core/branding.ts checks it; this keeps the page safe all the same).
  if (color === null || !COLOR.test(color)) return undefined;
  const on = textOn(color);
  // Hover moves away from the text colour, so the text keeps (and gains) contrast.
  const hover = `color-mix(in srgb,${color} 85%,${on === '#ffffff' ? '#000' : '#fff'})`;
  const accent = `--accent:${color};--accent-hover:${hover};--on-accent:${on}`;
  const link = (card: string) => (contrast(color, card) >= 4.5 ? `;--link:${color}` : '');
  return new SafeHtml(`<style>:root{${accent}${link(CARD_LIGHT)}}@media (prefers-color-scheme:dark){:root{${accent}${link(CARD_DARK)}}}</style>`);
}
