// "Your devices" (README "Staying signed in"): the signed-in person's live grants on the
// verification page, each with a Sign-out form. There is no session of its own: the view belongs to
// a flow that has a signed-in user (the browser-bound flow is the proof of sign-in), and lists only
// that user's grants.
//   GET  /{envId}/signon?flowId=…&view=devices[&signedOut=<grantId>]
//   POST /{envId}/signon   flowId, csrf, action=signout, grant=<grantId>  → 303 to the view
import type { Environment, Grant } from '../../model/records.ts';
import type { Store } from '../../store/store.ts';
import { html, type SafeHtml } from './html.ts';
import { hidden, layout, type FormContext } from './render.ts';

/** One row of the list, in words. */
export interface DeviceRow {
  grantId: string;
  name: string;
  /** A second line under the name, e.g. how a session was signed in. */
  hint?: string;
  createdAt: number;
  lastUsedAt: number;
}

/** What a person sees for a grant: a device by its application's name, a Veeam session as such. */
export async function deviceRows(store: Store, env: Environment, grants: readonly Grant[]): Promise<DeviceRow[]> {
  const names = new Map<string, string | undefined>();
  const nameOf = async (clientId: string) => {
    if (!names.has(clientId)) names.set(clientId, (await store.clients.get(env.id, clientId))?.name);
    return names.get(clientId);
  };
  const rows: DeviceRow[] = [];
  for (const g of grants) {
    const base = { grantId: g.id, createdAt: g.createdAt, lastUsedAt: g.lastUsedAt };
    // A session grant's client is the environment's account client, whose name means nothing to people.
    if (g.kind === 'session') rows.push({ ...base, name: 'Veeam API session', hint: 'Signed in with your password' });
    else rows.push({ ...base, name: (await nameOf(g.clientId)) ?? 'An application that has been removed' });
  }
  return rows;
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
  /** The name of what was just signed out (after the Post/Redirect/Get). */
  signedOut?: string;
  /** Where "back" goes: the flow's current step, named for what it is. */
  back: string;
}): string {
  const list = o.rows.length === 0
    ? html`<p>No devices or sessions are signed in to your account.</p>`
    : html`<ul class="grants">${o.rows.map((r, i) => html`
<li>
<p class="name" id="grant-${i + 1}"><strong>${r.name}</strong>${r.hint !== undefined && html`<br><span class="muted">${r.hint}</span>`}</p>
<p class="muted">Approved ${when(r.createdAt)}<br>Last used ${when(r.lastUsedAt)}</p>
<form method="post" action="signon">
${hidden(o.form)}
<input type="hidden" name="action" value="signout">
<input type="hidden" name="grant" value="${r.grantId}">
<button type="submit" class="secondary" aria-describedby="grant-${i + 1}">Sign out</button>
</form>
</li>`)}
</ul>`;
  return layout('Your devices', html`<h1 id="page-title">Your devices</h1>
<p class="muted">Signed in as <strong>${o.username}</strong></p>
${o.signedOut !== undefined && html`<p class="success" role="status">${o.signedOut} is signed out and can no longer use your account.</p>`}
<p>These devices and sessions can use your account. Sign out any that you do not recognise or no longer use.</p>
${list}
<p class="more"><a href="signon?flowId=${encodeURIComponent(o.form.flowId)}">${o.back}</a></p>`);
}
