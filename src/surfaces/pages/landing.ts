// The page at / for people who open the server's address in a browser: where to enter a code, and
// for integrators where discovery and the API documentation are. Same layout and style as the
// verification page; the ops front end serves it (surfaces/ops/landing.ts), JSON for programs.
import type { PageContext } from './context.ts';
import { html } from './html.ts';
import { layout } from './render.ts';

export interface LandingLinks {
  /** The verification page: /device. */
  device: string;
  openidConfiguration: string;
  authorizationServerMetadata: string;
  /** The API documentation, /docs, and the document itself. */
  docs: string;
  openapiYaml: string;
  openapiJson: string;
}

export function landingPage(c: PageContext, links: LandingLinks): string {
  const { t } = c;
  return layout(c, t.text('landing.title'), html`<h1 id="page-title">${t.html('landing.title')}</h1>
<p>${t.html('landing.intro')}</p>
<div class="actions"><a class="button" href="${links.device}">${t.html('landing.enter')}</a></div>
<p class="more">${t.html('landing.developers')}</p>
<ul class="scopes">
<li><a href="${links.openidConfiguration}">${t.html('landing.discovery')}</a></li>
<li><a href="${links.authorizationServerMetadata}">${t.html('landing.metadata')}</a></li>
<li><a href="${links.docs}">${t.html('landing.docs')}</a>: <a href="${links.openapiYaml}">openapi.yaml</a>, <a href="${links.openapiJson}">openapi.json</a></li>
</ul>`);
}
