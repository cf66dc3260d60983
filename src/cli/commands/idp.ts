// `idp add|list|remove`: the upstream OpenID Providers people may sign in with on the verification
// page (README "Command line"). Flags are read and checked here, before anything is opened, so a
// bad name, issuer or claim list is a usage error naming the flag; the engine checks them again
// and fetches the provider's discovery document (src/core/identity-providers.ts). The client
// secret comes from a file, never the command line, and is never printed.
import { readFileSync, statSync } from 'node:fs';
import { isCoreError } from '../../core/errors.ts';
import { checkClaims, checkIdpName, checkIssuer, DEFAULT_IDP_SCOPE } from '../../core/identity-providers.ts';
import type { Environment, IdentityProvider } from '../../model/records.ts';
import type { Services } from '../../services.ts';
import { ENV_FLAG, InputError, JSON_FLAG, UsageError, type Args, type CommandSpec } from '../args.ts';
import { warn, type Io } from '../io.ts';
import { identityProviderJson, safe, table } from '../output.ts';
import { withEnvironment } from '../session.ts';

const ATTRIBUTES = ['username', 'email', 'name'] as const;

/** A check of the engine's, as a usage error naming the flag. */
function flag<T>(args: Args, name: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    // The engine's message names what it checked ("claims: …"); here the flag names it.
    if (isCoreError(err)) {
      const message = err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message;
      throw new UsageError(`${args.command}: --${name}: ${message}`, args.command);
    }
    throw err;
  }
}

/** `--claims username=upn,email=mail`: which upstream claim fills each attribute; those not named keep their defaults. */
function claimsFlag(args: Args): Partial<IdentityProvider['claims']> | undefined {
  const value = args.string('claims');
  if (value === undefined) return undefined;
  const claims: Partial<Record<(typeof ATTRIBUTES)[number], string>> = {};
  for (const item of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [attribute = '', claim, ...rest] = item.split('=');
    const known = ATTRIBUTES.find((a) => a === attribute.trim());
    if (known === undefined || claim === undefined || claim.trim() === '' || rest.length > 0) {
      throw new UsageError(`${args.command}: --claims: "${safe(item)}" is not <attribute>=<claim> with attribute username, email or name`, args.command);
    }
    if (claims[known] !== undefined) throw new UsageError(`${args.command}: --claims: ${known} is given twice`, args.command);
    claims[known] = claim.trim();
  }
  if (Object.keys(claims).length === 0) throw new UsageError(`${args.command}: --claims: name at least one attribute`, args.command);
  flag(args, 'claims', () => checkClaims(claims));
  return claims;
}

/** The secret file's content, trimmed: a trailing newline from `echo` or an editor is not part of it. */
function readSecret(args: Args, file: string, io: Io): string {
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) warn(io, `${safe(file)} can be read by other users; chmod 600 it`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${args.command}: cannot read --client-secret-file ${safe(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const secret = text.trim();
  if (secret === '') throw new InputError(`${args.command}: --client-secret-file ${safe(file)} is empty`);
  return secret;
}

const redirectUri = (services: Services, env: Environment, name: string): string => services.urls.idpCallback(env.id, name);

export const idpAdd: CommandSpec = {
  path: ['idp', 'add'],
  summary: 'Let people sign in on the verification page through an OpenID Connect provider; prints the redirect URI to register there.',
  details: [
    'The provider\'s discovery document (<issuer>/.well-known/openid-configuration) is fetched first and must name exactly',
    'this issuer; a provider that cannot be reached or does not match is refused. The issuer is https (http only on',
    'loopback). A confidential client\'s secret is read from a file (never the command line), stored encrypted with the',
    'server secret and never printed; --public is a client without a secret (PKCE only).',
  ].join('\n'),
  flags: {
    name: { type: 'string', required: true, placeholder: 'slug', description: 'Name: 1-40 lowercase letters, digits or dashes (in the redirect URI and /device?idp=<name>)' },
    'display-name': { type: 'string', placeholder: 'label', description: 'The button says "Continue with <label>" (default: the name)' },
    issuer: { type: 'string', required: true, placeholder: 'url', description: 'The provider\'s issuer URL, exactly as its discovery document names it' },
    'client-id': { type: 'string', required: true, placeholder: 'id', description: 'This server\'s client id at the provider' },
    'client-secret-file': { type: 'string', placeholder: 'file', description: 'A file holding the client secret (a confidential client)' },
    public: { type: 'boolean', description: 'A public client at the provider: no secret, PKCE only' },
    scope: { type: 'string', placeholder: 's1 s2', description: `Scopes asked of the provider, openid among them (default: "${DEFAULT_IDP_SCOPE}")` },
    claims: {
      type: 'string', placeholder: 'username=c,email=c,name=c',
      description: 'The provider\'s claims that fill username, email and name (default: preferred_username, email, name)',
    },
    env: ENV_FLAG,
    json: JSON_FLAG,
  },
  run: async (args, io) => {
    const name = flag(args, 'name', () => checkIdpName(args.string('name') ?? ''));
    const issuer = flag(args, 'issuer', () => checkIssuer(args.string('issuer') ?? ''));
    const secretFile = args.string('client-secret-file');
    if (secretFile !== undefined && args.bool('public')) {
      throw new UsageError(`${args.command}: --client-secret-file and --public contradict each other`, args.command);
    }
    if (secretFile === undefined && !args.bool('public')) {
      throw new UsageError(`${args.command}: give --client-secret-file <file> (a confidential client) or --public (no secret, PKCE only)`, args.command);
    }
    const claims = claimsFlag(args);
    const clientSecret = secretFile === undefined ? null : readSecret(args, secretFile, io);
    return withEnvironment(args, io, async (services, env) => {
      const p = await services.admin.identityProviders.add(env, {
        name, issuer, clientId: args.string('client-id') ?? '', clientSecret,
        ...(args.string('display-name') === undefined ? {} : { displayName: args.string('display-name') }),
        ...(args.string('scope') === undefined ? {} : { scope: args.string('scope') }),
        ...(claims === undefined ? {} : { claims }),
      });
      const uri = redirectUri(services, env, p.name);
      return {
        json: identityProviderJson(p, uri),
        text: [
          `Added identity provider ${p.name} to environment ${safe(env.name)}: the page offers "Continue with ${safe(p.displayName)}"`,
          `issuer:       ${safe(p.issuer)}`,
          `client_id:    ${safe(p.clientId)} (${p.clientSecretEnc === null ? 'public, PKCE only' : 'confidential, its secret stored encrypted'})`,
          `scope:        ${safe(p.scope)}`,
          `claims:       username=${safe(p.claims.username)}, email=${safe(p.claims.email)}, name=${safe(p.claims.name)}`,
          `redirect URI: ${uri}`,
          'Register this redirect URI with the provider for the client.',
        ],
      };
    });
  },
};

export const idpList: CommandSpec = {
  path: ['idp', 'list'],
  summary: 'List the identity providers of an environment (never their secrets).',
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: (args, io) =>
    withEnvironment(args, io, async (services, env) => {
      const providers = await services.admin.identityProviders.list(env.id);
      return {
        json: { identity_providers: providers.map((p) => identityProviderJson(p, redirectUri(services, env, p.name))) },
        text: providers.length === 0
          ? [`No identity providers in environment ${safe(env.name)}.`]
          : table(['NAME', 'DISPLAY_NAME', 'ISSUER', 'CLIENT_ID', 'REDIRECT_URI'],
            providers.map((p) => [p.name, p.displayName, p.issuer, p.clientId, redirectUri(services, env, p.name)])),
      };
    }),
};

export const idpRemove: CommandSpec = {
  path: ['idp', 'remove'],
  summary: 'Remove an identity provider: nobody signs in through it any more (its users and their devices stay).',
  positional: { name: 'name' },
  flags: { env: ENV_FLAG, json: JSON_FLAG },
  run: async (args, io) => {
    const name = args.requiredPositional();
    return withEnvironment(args, io, async (services, env) => {
      await services.admin.identityProviders.remove(env, name);
      if (!env.passwordSignIn && (await services.admin.identityProviders.list(env.id)).length === 0) {
        warn(io, `environment ${safe(env.name)} has password sign-in off and no identity provider left: nobody can sign in on the verification page`);
      }
      return { json: { removed: true, name }, text: [`Removed identity provider ${safe(name)} from environment ${safe(env.name)}`] };
    });
  },
};
