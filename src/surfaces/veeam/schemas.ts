// Request and response schemas of the Veeam facade (getDeviceCode and Veeam's password grant;
// docs/vendors.md).
import { z } from 'zod';
import { text } from '../../http/params.ts';

const formParam = text(4096).optional();

/** Veeam spells the credentials `Username` and `Password`; RFC 6749 spells them in lower case. */
export const sessionTokenBody = z.object({
  grant_type: formParam.describe('Password (any case)'),
  username: formParam,
  Username: formParam,
  password: formParam,
  Password: formParam,
  refresh_token: formParam.describe('grant_type=Refresh_token'),
  Refresh_token: formParam,
});

export const sessionTokenResponse = z
  .object({
    access_token: z.string().describe('Session JWT (typ session+jwt) for the session API of this environment'),
    token_type: z.literal('Bearer'),
    refresh_token: z.string().describe('rt_…: renews the session with grant_type=Refresh_token; rotated on every use'),
    expires_in: z.number().int().describe('Seconds; 3600 by default'),
    '.issued': z.string().describe('RFC 1123 date'),
    '.expires': z.string().describe('RFC 1123 date'),
  })
  .meta({ id: 'VeeamSessionToken' });

/** Exactly the eight fields of Veeam's getDeviceCode (ADAL's DeviceCodeResult), in its order. */
export const deviceCodeResponse = z
  .object({
    userCode: z.string().describe('Shown to the person, e.g. WDJB-MJHT'),
    deviceCode: z.string().describe('Polls the standard token endpoint with clientId'),
    verificationUrl: z.string(),
    expiresOn: z.string().describe('Absolute ISO 8601 time with offset, e.g. 2026-12-01T19:10:30.045000+00:00'),
    interval: z.number().int().describe('Seconds between polls'),
    message: z.string(),
    clientId: z.string().describe('The environment\'s account client'),
    resource: z.string().describe('The audience of the access token the device code yields'),
  })
  .meta({ id: 'VeeamDeviceCode' });

export const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    error: z.string().describe('The failure in OAuth terms (invalid_token, invalid_grant, …)'),
  })
  .meta({ id: 'Problem' });
