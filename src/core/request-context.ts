// The consent decision's context (RFC 8628 §5.4; RFC 10027, cross-device consent phishing): a
// phisher starts the device request on their own machine and sends the code to the victim, so the
// request comes from somewhere the victim is not. The engine compares where the request came from
// with where the person approving is, and says so in words; the page renders them and the flow API
// serialises them, neither decides anything.
import type { RequestContext } from '../model/records.ts';

/** A context with nothing known, for requests recorded before contexts were. */
export const UNKNOWN_CONTEXT: Readonly<RequestContext> = Object.freeze({ address: null, userAgent: null, country: null, asn: null, network: null });

export const LOCATION_MISMATCH = 'LOCATION_MISMATCH';

/** The part of a context that a warning compares. */
export interface Whereabouts {
  country: string | null;
  asn: number | null;
}

/** A warning shown above the consent buttons (and in the flow API's `_embedded.warnings`). */
export interface ConsentWarning {
  code: typeof LOCATION_MISMATCH;
  message: string;
  requester: Whereabouts;
  approver: Whereabouts;
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** A country's English name from its ISO 3166-1 alpha-2 code (`DE` → `Germany`); null for none. */
export function countryName(code: string | null): string | null {
  if (code === null || !/^[A-Z]{2}$/.test(code)) return null;
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}

/** A network as people can read it: its name, else its number (`AS64500`). */
export function networkLabel(c: Pick<RequestContext, 'asn' | 'network'>): string | null {
  return c.network ?? (c.asn === null ? null : `AS${c.asn}`);
}

const ADVICE = 'If someone sent you this code or asked you to enter it, deny it.';

/**
 * What differs between where the device's request came from and where the approver is now: the
 * country, else the network (autonomous system). Only what is known on both sides is compared:
 * loopback, private and unlisted addresses have neither, so a server reached inside a company
 * network warns about nothing there. At most one warning; none when nothing differs.
 */
export function locationWarnings(requester: RequestContext | null, approver: RequestContext | null): ConsentWarning[] {
  if (requester === null || approver === null) return [];
  const where = (c: RequestContext): Whereabouts => ({ country: c.country, asn: c.asn });
  const warning = (message: string): ConsentWarning[] => [{ code: LOCATION_MISMATCH, message, requester: where(requester), approver: where(approver) }];
  if (requester.country !== null && approver.country !== null && requester.country !== approver.country) {
    return warning(`This request was made from another country (${countryName(requester.country) ?? requester.country}) than you are in now `
      + `(${countryName(approver.country) ?? approver.country}). ${ADVICE}`);
  }
  if (requester.asn !== null && approver.asn !== null && requester.asn !== approver.asn) {
    return warning(`This request was made from another network (${networkLabel(requester) ?? ''}) than you are on now `
      + `(${networkLabel(approver) ?? ''}). ${ADVICE}`);
  }
  return [];
}
