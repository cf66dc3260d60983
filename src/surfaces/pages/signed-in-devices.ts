// "Your devices" (README "Staying signed in"): the signed-in person's live grants on the
// verification page, each with where and when it was approved and last used, and a Sign-out that
// asks first; "Sign out of all devices" too. There is no session of its own: the view belongs to a
// flow that has a signed-in user (the browser-bound flow is the proof of sign-in), and lists only
// that user's grants.
//   GET  /{envId}/signon?flowId=…&view=devices[&signedOut=<grantId>|all][&confirm=<grantId>|all]
//   POST /{envId}/signon   flowId, csrf, action=signout (grant=<grantId>) | signout-all  → 303 to the view
import type { Environment, Grant, RequestContext } from '../../model/records.ts';
import type { Store } from '../../store/store.ts';
import type { PageContext } from './context.ts';
import { html, type SafeHtml } from './html.ts';
import { hidden, layout, type FormContext } from './render.ts';
import { sourceText, timeAgo } from './request-words.ts';

/** One row of the list, in words. */
export interface DeviceRow {
  grantId: string;
  name: string;
  /** A second line under the name, e.g. how a session was signed in. */
  hint?: string;
  createdAt: number;
  lastUsedAt: number;
  /** Where it was requested from, and last used from (a refresh); null when not known. */
  requestedFrom: RequestContext | null;
  lastUsedFrom: RequestContext | null;
}

/**
 * What a person sees for a grant: a device by its application's name, a Veeam session as such.
 * Several grants of one application are numbered in the order they were approved ("Living-room
 * TV (2 of 3)"), so the rows, and a confirmation, name the one meant.
 */
export async function deviceRows(c: PageContext, store: Store, env: Environment, grants: readonly Grant[]): Promise<DeviceRow[]> {
  const { t } = c;
  const names = new Map<string, string | undefined>();
  const nameOf = async (clientId: string) => {
    if (!names.has(clientId)) names.set(clientId, (await store.clients.get(env.id, clientId))?.name);
    return names.get(clientId);
  };
  const rows: DeviceRow[] = [];
  for (const g of grants) {
    const base = { grantId: g.id, createdAt: g.createdAt, lastUsedAt: g.lastUsedAt, requestedFrom: g.requestContext, lastUsedFrom: g.lastUsedContext };
    // A session grant's client is the environment's account client, whose name means nothing to people.
    if (g.kind === 'session') rows.push({ ...base, name: t.text('devices.veeamSession'), hint: t.text('devices.passwordSession') });
    else rows.push({ ...base, name: (await nameOf(g.clientId)) ?? t.text('devices.removedApp') });
  }
  const byName = new Map<string, DeviceRow[]>();
  for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  for (const same of byName.values()) {
    if (same.length < 2) continue;
    const oldestFirst = [...same].sort((a, b) => a.createdAt - b.createdAt);
    oldestFirst.forEach((r, i) => { r.name = t.text('devices.numbered', { name: r.name, n: i + 1, total: same.length }); });
  }
  return rows;
}

/** Where a context came from, with its user agent; undefined when the place is not known. */
function fromWhere(c: PageContext, ctx: RequestContext | null): SafeHtml | undefined {
  if (ctx === null || (ctx.address === null && ctx.country === null && ctx.network === null)) return undefined;
  return html`${sourceText(c, ctx)}${ctx.userAgent !== null && html` · <span class="agent">${ctx.userAgent}</span>`}`;
}

/**
 * "Approved 3 days ago from …" and "Last used 2 hours ago from …": relative times need no time
 * zone, which the page cannot know without JavaScript; the exact time (UTC) is the element's title.
 */
function history(c: PageContext, row: DeviceRow): SafeHtml {
  const { t } = c;
  const approvedFrom = fromWhere(c, row.requestedFrom);
  const usedFrom = fromWhere(c, row.lastUsedFrom);
  const approved = approvedFrom === undefined
    ? t.html('devices.approved', { when: timeAgo(c, row.createdAt) })
    : t.html('devices.approvedFrom', { when: timeAgo(c, row.createdAt), source: approvedFrom });
  const used = usedFrom === undefined
    ? t.html('devices.lastUsed', { when: timeAgo(c, row.lastUsedAt) })
    : t.html('devices.lastUsedFrom', { when: timeAgo(c, row.lastUsedAt), source: usedFrom });
  return html`${approved}<br>${used}`;
}

/** The page's address for a flow, relative to the page (forms and links stay on this origin). */
export function devicesHref(flowId: string): string {
  return `signon?flowId=${encodeURIComponent(flowId)}&view=devices`;
}

/** The link below a step once the flow has a signed-in user. */
export function devicesLink(c: PageContext, flowId: string): SafeHtml {
  return html`<p class="more">${c.t.html('devices.more', { link: html`<a href="${devicesHref(flowId)}">${c.t.html('devices.title')}</a>` })}</p>`;
}

export function devicesPage(c: PageContext, o: {
  form: FormContext;
  username: string;
  rows: readonly DeviceRow[];
  /** The name of what was just signed out (after the Post/Redirect/Get), or `all`. */
  signedOut?: string;
  /** Where "back" goes: the flow's current step, named for what it is. */
  back: string;
}): string {
  const { t } = c;
  const list = o.rows.length === 0
    ? html`<p>${t.html('devices.none')}</p>`
    : html`<ul class="grants">${o.rows.map((r, i) => html`
<li>
<p class="name" id="grant-${i + 1}"><strong>${r.name}</strong>${r.hint !== undefined && html`<br><span class="muted">${r.hint}</span>`}</p>
<p class="muted">${history(c, r)}</p>
<p><a class="button secondary" href="${confirmHref(o.form.flowId, r.grantId)}" aria-describedby="grant-${i + 1}">${t.html('devices.signOut')}</a></p>
</li>`)}
</ul>
${o.rows.length > 1 && html`<p><a class="button secondary" href="${confirmHref(o.form.flowId, 'all')}">${t.html('devices.signOutAll')}</a></p>`}`;
  const done = o.signedOut === undefined ? undefined
    : o.signedOut === 'all' ? t.text('devices.allSignedOut') : t.text('devices.signedOut', { name: o.signedOut });
  return layout(c, t.text('devices.title'), html`<h1 id="page-title">${t.html('devices.title')}</h1>
<p class="muted">${t.html('common.signedInAs', { user: html`<strong>${o.username}</strong>` })}</p>
${done !== undefined && html`<p class="success" role="status">${done}</p>`}
<p>${t.html('devices.intro')}</p>
${list}
<p class="more"><a href="signon?flowId=${encodeURIComponent(o.form.flowId)}">${o.back}</a></p>`);
}

/** Where the Sign out link of a row (or "all") leads: a page that asks first. */
export function confirmHref(flowId: string, grantId: string): string {
  return `${devicesHref(flowId)}&confirm=${encodeURIComponent(grantId)}`;
}

/**
 * "Sign out …?" before anything ends: one device (named, with where it was approved from) or all
 * of them. Yes posts the sign-out; No goes back to the list and changes nothing.
 */
export function confirmSignOutPage(c: PageContext, o: { form: FormContext; row?: DeviceRow; count: number }): string {
  const { t } = c;
  const row = o.row;
  const title = row === undefined ? t.text('confirm.allTitle') : t.text('confirm.oneTitle', { name: row.name });
  return layout(c, title, html`<h1 id="page-title">${title}</h1>
${row === undefined
    ? html`<p>${t.plural('confirm.all', o.count)}</p>`
    : html`<p class="muted">${history(c, row)}</p>
<p>${t.html('confirm.one')}</p>`}
<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="${row === undefined ? 'signout-all' : 'signout'}">
${row !== undefined && html`<input type="hidden" name="grant" value="${row.grantId}">`}
<div class="actions">
<button type="submit">${row === undefined ? t.text('confirm.allButton') : t.text('confirm.oneButton')}</button>
<a class="button secondary" href="${devicesHref(o.form.flowId)}">${t.html('confirm.cancel')}</a>
</div>
</form>`);
}
