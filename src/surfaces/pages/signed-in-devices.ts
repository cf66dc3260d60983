// "Your devices" (README "Staying signed in"): the signed-in person's live grants on the
// verification page, each with where and when it was approved and last used, and a Sign-out that
// asks first; "Sign out of all devices" too. There is no session of its own: the view belongs to a
// flow that has a signed-in user (the browser-bound flow is the proof of sign-in), and lists only
// that user's grants.
//   GET  /{envId}/signon?flowId=…&view=devices[&signedOut=<grantId>|all][&confirm=<grantId>|all]
//   POST /{envId}/signon   flowId, csrf, action=signout (grant=<grantId>) | signout-all  → 303 to the view
import type { Environment, Grant, RequestContext } from '../../model/records.ts';
import type { Store } from '../../store/store.ts';
import { html, type SafeHtml } from './html.ts';
import { hidden, layout, sourceText, type FormContext } from './render.ts';

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
export async function deviceRows(store: Store, env: Environment, grants: readonly Grant[]): Promise<DeviceRow[]> {
  const names = new Map<string, string | undefined>();
  const nameOf = async (clientId: string) => {
    if (!names.has(clientId)) names.set(clientId, (await store.clients.get(env.id, clientId))?.name);
    return names.get(clientId);
  };
  const rows: DeviceRow[] = [];
  for (const g of grants) {
    const base = { grantId: g.id, createdAt: g.createdAt, lastUsedAt: g.lastUsedAt, requestedFrom: g.requestContext, lastUsedFrom: g.lastUsedContext };
    // A session grant's client is the environment's account client, whose name means nothing to people.
    if (g.kind === 'session') rows.push({ ...base, name: 'Veeam API session', hint: 'Signed in with your password' });
    else rows.push({ ...base, name: (await nameOf(g.clientId)) ?? 'An application that has been removed' });
  }
  const byName = new Map<string, DeviceRow[]>();
  for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  for (const same of byName.values()) {
    if (same.length < 2) continue;
    const oldestFirst = [...same].sort((a, b) => a.createdAt - b.createdAt);
    oldestFirst.forEach((r, i) => { r.name = `${r.name} (${i + 1} of ${same.length})`; });
  }
  return rows;
}

/** " from Germany, Example AS (192.0.2.1) · curl/8.5.0", or nothing when the place is not known. */
function fromWhere(c: RequestContext | null): SafeHtml | undefined {
  if (c === null || (c.address === null && c.country === null && c.network === null)) return undefined;
  return html` from ${sourceText(c)}${c.userAgent !== null && html` · <span class="agent">${c.userAgent}</span>`}`;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "1 January 2026, 12:00 UTC": plain words, one time zone, the same for every reader (no JavaScript). */
export function inPlainWords(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

function when(ms: number): SafeHtml {
  return html`<time datetime="${new Date(ms).toISOString()}">${inPlainWords(ms)}</time>`;
}

/** The page's address for a flow, relative to the page (forms and links stay on this origin). */
export function devicesHref(flowId: string): string {
  return `signon?flowId=${encodeURIComponent(flowId)}&view=devices`;
}

/** The link below a step once the flow has a signed-in user. */
export function devicesLink(flowId: string): SafeHtml {
  return html`<p class="more"><a href="${devicesHref(flowId)}">Your devices</a> — see and sign out what is connected to your account.</p>`;
}

export function devicesPage(o: {
  form: FormContext;
  username: string;
  rows: readonly DeviceRow[];
  /** The name of what was just signed out (after the Post/Redirect/Get), or `all`. */
  signedOut?: string;
  /** Where "back" goes: the flow's current step, named for what it is. */
  back: string;
}): string {
  const list = o.rows.length === 0
    ? html`<p>No devices or sessions are signed in to your account.</p>`
    : html`<ul class="grants">${o.rows.map((r, i) => html`
<li>
<p class="name" id="grant-${i + 1}"><strong>${r.name}</strong>${r.hint !== undefined && html`<br><span class="muted">${r.hint}</span>`}</p>
<p class="muted">Approved ${when(r.createdAt)}${fromWhere(r.requestedFrom)}<br>Last used ${when(r.lastUsedAt)}${fromWhere(r.lastUsedFrom)}</p>
<p><a class="button secondary" href="${confirmHref(o.form.flowId, r.grantId)}" aria-describedby="grant-${i + 1}">Sign out…</a></p>
</li>`)}
</ul>
${o.rows.length > 1 && html`<p><a class="button secondary" href="${confirmHref(o.form.flowId, 'all')}">Sign out of all devices…</a></p>`}`;
  const done = o.signedOut === undefined ? undefined
    : o.signedOut === 'all' ? 'Every device and session is signed out and can no longer use your account.'
      : `${o.signedOut} is signed out and can no longer use your account.`;
  return layout('Your devices', html`<h1 id="page-title">Your devices</h1>
<p class="muted">Signed in as <strong>${o.username}</strong></p>
${done !== undefined && html`<p class="success" role="status">${done}</p>`}
<p>These devices and sessions can use your account. Sign out any that you do not recognise or no longer use.</p>
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
export function confirmSignOutPage(o: { form: FormContext; row?: DeviceRow; count: number }): string {
  const row = o.row;
  const title = row === undefined ? 'Sign out of all devices?' : `Sign out ${row.name}?`;
  return layout(title, html`<h1 id="page-title">${title}</h1>
${row === undefined
    ? html`<p>All ${o.count} devices and sessions connected to your account will be signed out. Each will have to be connected again to use your account.</p>`
    : html`<p class="muted">Approved ${when(row.createdAt)}${fromWhere(row.requestedFrom)}<br>Last used ${when(row.lastUsedAt)}${fromWhere(row.lastUsedFrom)}</p>
<p>It will no longer be able to use your account until it is connected again.</p>`}
<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="${row === undefined ? 'signout-all' : 'signout'}">
${row !== undefined && html`<input type="hidden" name="grant" value="${row.grantId}">`}
<div class="actions">
<button type="submit">${row === undefined ? 'Sign out of all devices' : 'Sign out'}</button>
<a class="button secondary" href="${devicesHref(o.form.flowId)}">Cancel</a>
</div>
</form>`);
}
