// Signing-key material as pure functions: generate a key pair, import its halves. Which key is
// active, and caching, belong to the KeyRing service (core/key-ring.ts).
import { createPrivateKey, generateKeyPair as generateNodeKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { KeyAlg } from '../model/records.ts';

export type PublicJwk = JWK & { kty: string; kid: string };

/** Every algorithm a signing key may have (ES256 by default); tokens of either verify anywhere. */
export const KEY_ALGS: readonly KeyAlg[] = ['ES256', 'RS256'];

export interface SigningKeyMaterial {
  kid: string;
  alg: KeyAlg;
  /** With kid, alg and use, as published in the JWKS. */
  publicJwk: PublicJwk;
  privateJwk: JWK;
}

/** A new extractable key pair; the kid is the RFC 7638 thumbprint of its public half. */
export async function generateSigningKey(alg: KeyAlg): Promise<SigningKeyMaterial> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, publicJwk: { ...jwk, kty: jwk.kty ?? '', kid, alg, use: 'sig' }, privateJwk: await exportJWK(privateKey) };
}

/** A public key, for jose to verify with. */
export async function importPublicKey(jwk: JWK, alg: KeyAlg): Promise<CryptoKey> {
  const key = await importJWK(jwk, alg);
  if (key instanceof Uint8Array) throw new Error('unexpected symmetric key');
  return key;
}

/**
 * A private key, for node:crypto to sign with (crypto/jws.ts), checked to be the kind `alg` signs
 * with: a P-256 key for ES256, an RSA key for RS256.
 */
export function importPrivateKey(jwk: JWK, alg: KeyAlg): KeyObject {
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const fits = alg === 'ES256'
    ? key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
    : key.asymmetricKeyType === 'rsa';
  if (!fits) throw new Error(`the signing key is not an ${alg} key`);
  return key;
}

export interface RsaKeyPair {
  /** SPKI PEM: what the server stores. */
  publicPem: string;
  /** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), the form RSA's admin key files carry. */
  privatePem: string;
  publicKey: KeyObject;
}

/** An RSA key pair for an admin API key (the RSA facade, docs/vendors.md). */
export async function generateRsaKeyPair(modulusLength = 2048): Promise<RsaKeyPair> {
  const { publicKey, privateKey } = await promisify(generateNodeKeyPair)('rsa', { modulusLength });
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKey,
  };
}
