// The page at / for people who open the server's address in a browser: where to enter a code, and
// for integrators where discovery and the API documentation are. Same layout and style as the
// verification page; the ops front end serves it (surfaces/ops/landing.ts), JSON for programs.
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

export function landingPage(links: LandingLinks): string {
  return layout('Welcome', html`<h1 id="page-title">Welcome</h1>
<p>Your TV, console or command line shows a code? Enter it on the next page and sign in to connect the device to your account.</p>
<div class="actions"><a class="button" href="${links.device}">Enter a code</a></div>
<p class="more">For developers:</p>
<ul class="scopes">
<li><a href="${links.openidConfiguration}">OpenID Provider configuration</a> (discovery; also as <a href="${links.authorizationServerMetadata}">RFC 8414 metadata</a>)</li>
<li><a href="${links.docs}">API documentation</a> (OpenAPI: <a href="${links.openapiYaml}">openapi.yaml</a>, <a href="${links.openapiJson}">openapi.json</a>)</li>
</ul>`);
}
