// Where each environment's endpoints live (docs/protocol.md): the default environment at the root,
// every environment under /{envID}/. Surfaces, tokens and the CLI all derive URLs here.
import type { Environment } from '../model/records.ts';

export interface EnvironmentUrls {
  /** OAuth issuer: PUBLIC_URL for the default environment, PUBLIC_URL/{envID}/as otherwise. */
  issuer: string;
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  revocationEndpoint: string;
  introspectionEndpoint: string;
  userinfoEndpoint: string;
  verificationUri: string;
  /** Base of the Veeam-compatible API, the audience of its session tokens. */
  sessionApi: string;
}

export class Urls {
  readonly publicUrl: string;
  readonly #defaultEnvId: string;

  constructor(publicUrl: string, defaultEnvId: string) {
    this.publicUrl = publicUrl;
    this.#defaultEnvId = defaultEnvId;
  }

  /** Every issuer of the environment's tokens: the default environment's are also issued at the root. */
  issuers(env: Environment): string[] {
    const own = this.of(env, false).issuer;
    return env.id === this.#defaultEnvId ? [this.publicUrl, own] : [own];
  }

  /** The RSA-compatible admin API base, one for every environment (the admin key names the environment). */
  get adminApi(): string {
    return `${this.publicUrl}/AdminInterface/restapi`;
  }

  /** The redirect URI registered at an upstream identity provider (always under the environment's id). */
  idpCallback(envId: string, name: string): string {
    return `${this.publicUrl}/${envId}/idp/${encodeURIComponent(name)}/callback`;
  }

  /**
   * Where a "Continue with …" button sends the browser that holds a flow; the code the device showed
   * and the wish to see "Your devices" ride along to the page after the sign-in.
   */
  idpStart(envId: string, name: string, flowId: string, then: { userCode?: string; toDevices?: boolean } = {}): string {
    return `${this.publicUrl}/${envId}/idp/${encodeURIComponent(name)}/start?${pageQuery(flowId, then)}`;
  }

  /** The verification page of a flow, with what rides along to it. */
  signon(envId: string, flowId: string, then: { userCode?: string; toDevices?: boolean } = {}): string {
    return `${this.publicUrl}/${envId}/signon?${pageQuery(flowId, then)}`;
  }

  /** `viaRoot`: the URLs of the root endpoints, which serve the default environment only. */
  of(env: Environment, viaRoot = env.id === this.#defaultEnvId): EnvironmentUrls {
    const base = this.publicUrl;
    if (viaRoot) {
      return {
        issuer: base,
        deviceAuthorizationEndpoint: `${base}/oauth/device_authorization`,
        tokenEndpoint: `${base}/oauth/token`,
        jwksUri: `${base}/oauth/jwks`,
        revocationEndpoint: `${base}/oauth/revoke`,
        introspectionEndpoint: `${base}/oauth/introspect`,
        userinfoEndpoint: `${base}/oauth/userinfo`,
        verificationUri: `${base}/device`,
        sessionApi: `${base}/api`,
      };
    }
    const issuer = `${base}/${env.id}/as`;
    return {
      issuer,
      deviceAuthorizationEndpoint: `${issuer}/device_authorization`,
      tokenEndpoint: `${issuer}/token`,
      jwksUri: `${issuer}/jwks`,
      revocationEndpoint: `${issuer}/revoke`,
      introspectionEndpoint: `${issuer}/introspect`,
      userinfoEndpoint: `${issuer}/userinfo`,
      verificationUri: `${base}/${env.id}/device`,
      sessionApi: `${base}/${env.id}/api`,
    };
  }
}

function pageQuery(flowId: string, then: { userCode?: string; toDevices?: boolean }): string {
  const q = new URLSearchParams({ flowId });
  if (then.userCode !== undefined && then.userCode !== '') q.set('user_code', then.userCode);
  if (then.toDevices === true) q.set('view', 'devices');
  return q.toString();
}
