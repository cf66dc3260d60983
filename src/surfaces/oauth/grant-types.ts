// The token endpoint's grant types, dispatched by table (RFC 6749 §4, §6; RFC 8628 §3.4): each
// handler gets an authenticated client and answers the token response, or throws a CoreError.
import type { z } from 'zod';
import { issueGrantTokens } from '../../core/access-tokens.ts';
import { CoreError } from '../../core/errors.ts';
import { DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT, type Client, type Environment, type RequestContext } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import type { tokenBody, tokenResponse } from './schemas.ts';

type TokenBody = z.infer<typeof tokenBody>;
type TokenResponse = z.input<typeof tokenResponse>;
/** Where the request landed: the environment, and the issuer it was addressed as. */
export interface GrantContext {
  env: Environment;
  issuer: string;
  /** Where the request came from, looked up only by the grants that keep it (never on a device poll). */
  from: () => RequestContext | null;
}

type GrantHandler = (services: Services, ctx: GrantContext, client: Client, body: TokenBody) => Promise<TokenResponse>;

function required(body: TokenBody, name: 'device_code' | 'refresh_token'): string {
  const value = body[name];
  if (value === undefined || value === '') throw new CoreError('invalid_request', `missing required parameter: ${name}`);
  return value;
}

const handlers: Record<string, GrantHandler> = {
  [DEVICE_CODE_GRANT]: async (services, ctx, client, body) => {
    const token = await services.deviceFlow.poll(ctx.env, client, required(body, 'device_code'), ctx.issuer);
    return {
      access_token: token.accessToken, token_type: 'Bearer', expires_in: token.expiresIn, scope: token.scope,
      ...(token.refreshToken === undefined ? {} : { refresh_token: token.refreshToken }),
      ...(token.idToken === undefined ? {} : { id_token: token.idToken }),
    };
  },
  [REFRESH_TOKEN_GRANT]: async (services, ctx, client, body) => {
    const r = await services.grants.refresh(ctx.env, client, required(body, 'refresh_token'), body.scope, 'device', ctx.from());
    const token = await issueGrantTokens({ keys: services.keys, telemetry: services.metrics }, {
      env: ctx.env, client, user: r.user, grant: r.grant, scope: r.scope, issuer: ctx.issuer, now: services.clock.now(),
    });
    return {
      access_token: token.accessToken, token_type: 'Bearer', expires_in: token.expiresIn, scope: r.scope, refresh_token: r.refreshToken,
      ...(token.idToken === undefined ? {} : { id_token: token.idToken }),
    };
  },
};

export const GRANT_TYPES_SUPPORTED = Object.keys(handlers);

/** The handler of a grant type, checked before any client is authenticated. */
export function grantHandler(grantType: string): GrantHandler {
  const handler = Object.hasOwn(handlers, grantType) ? handlers[grantType] : undefined;
  if (!handler) throw new CoreError('unsupported_grant_type', `grant_type ${grantType.slice(0, 100)} is not supported`);
  return handler;
}

