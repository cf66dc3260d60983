// Where and when a device's request was made, in the person's words (RFC 8628 §5.4: the person can
// tell their own request): used by the consent step and "Your devices".
import { networkLabel, type ConsentWarning } from '../../core/request-context.ts';
import type { DeviceRequestView } from '../../core/verification.ts';
import { PRIVATE_NETWORK, THIS_NETWORK } from '../../geoip/geoip.ts';
import type { RequestContext } from '../../model/records.ts';
import type { PageContext } from './context.ts';
import { html, type SafeHtml } from './html.ts';

/** A network's name in words: the geo database's labels for loopback and private ranges are the page's own words. */
function networkWords(c: PageContext, network: string | null): string | null {
  if (network === THIS_NETWORK) return c.t.text('place.thisNetwork');
  if (network === PRIVATE_NETWORK) return c.t.text('place.privateNetwork');
  return network;
}

/** Where a request came from, in words: "Germany, Example AS (192.0.2.1)", "this network (127.0.0.1)". */
export function sourceText(c: PageContext, source: RequestContext): string {
  const { t } = c;
  const country = t.country(source.country);
  const network = networkWords(c, source.network);
  const place = country !== null && network !== null ? t.text('place.countryNetwork', { country, network }) : country ?? network;
  if (source.address === null) return place ?? t.text('place.unknownAddress');
  return t.text('place.withAddress', { place: place ?? t.text('place.unknownNetwork'), address: source.address });
}

/** A moment as words relative to the page's clock, with the exact time (UTC) in the element's title. */
export function timeAgo(c: PageContext, ms: number): SafeHtml {
  return html`<time datetime="${new Date(ms).toISOString()}" title="${c.t.dateTime(ms)}">${c.t.ago(c.now - ms)}</time>`;
}

/**
 * "Requested 2 minutes ago from …" and "This code expires in 8 minutes", counted from the engine's
 * clock when the view was made (RFC 8628 §5.4: the person can tell their own request).
 */
export function requestDetails(c: PageContext, request: DeviceRequestView): SafeHtml {
  const { t } = c;
  const { source } = request;
  const left = request.expiresAt - c.now;
  const from = html`${sourceText(c, source)}${source.userAgent !== null && html` · <span class="agent">${source.userAgent}</span>`}`;
  const expiry = left <= 0 ? t.text('request.expired')
    : left < 60_000 ? t.text('request.expiresSoon')
      : t.html('request.expiresIn', {
        when: html`<time datetime="${new Date(request.expiresAt).toISOString()}" title="${t.dateTime(request.expiresAt)}">${t.within(left)}</time>`,
      });
  return html`<p class="request" id="request-source">${t.html('request.from', { when: timeAgo(c, request.requestedAt), source: from })}</p>
<p class="muted" id="request-expiry">${expiry}</p>`;
}

/**
 * The engine's warning in the person's language: the country names in it, or the networks' names
 * (the requester's from the request, the approver's from where they are now).
 */
export function warningText(c: PageContext, w: ConsentWarning, request: DeviceRequestView | undefined, viewer: RequestContext | undefined): string {
  const { t } = c;
  if (w.requester.country !== null && w.approver.country !== null && w.requester.country !== w.approver.country) {
    return t.text('consent.otherCountry', { requester: t.country(w.requester.country) ?? '', approver: t.country(w.approver.country) ?? '' });
  }
  const name = (ctx: RequestContext | undefined, asn: number | null) =>
    (ctx !== undefined && ctx.asn === asn ? networkLabel(ctx) : null) ?? (asn === null ? '' : `AS${asn}`);
  return t.text('consent.otherNetwork', { requester: name(request?.source, w.requester.asn), approver: name(viewer, w.approver.asn) });
}
