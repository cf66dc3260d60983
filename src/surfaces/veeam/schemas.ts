// Request and response schemas of the Veeam facade (getDeviceCode and Veeam's password grant;
// docs/vendors.md).
import { z } from 'zod';
import { text } from '../../http/params.ts';
import { VEEAM_ERROR_CODES } from './errors.ts';

const formParam = text(4096).optional();

/** Veeam spells the credentials `Username` and `Password`; RFC 6749 spells them in lower case. */
export const sessionTokenBody = z.object({
  // Documented, not validated: any other value is unsupported_grant_type (RFC 6749 §5.2), in any case.
  grant_type: formParam.meta({ enum: ['Password', 'Refresh_token'], description: 'Password or Refresh_token, in any case' }),
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
  .meta({
    id: 'VeeamSessionToken',
    description: 'A session token for the session API of this environment (getDeviceCode), and its refresh token',
    examples: [{
      access_token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6InNlc3Npb24rand0In0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl',
      token_type: 'Bearer',
      refresh_token: 'rt_Zq3vX0pL9sNc2WbT7yKd4fHa1mUe8RgJ6oIiQtYwBxC',
      expires_in: 3600,
      '.issued': 'Thu, 01 Jan 2026 12:00:00 GMT',
      '.expires': 'Thu, 01 Jan 2026 13:00:00 GMT',
    }],
  });

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
  .meta({
    id: 'VeeamDeviceCode',
    description: 'A device authorization for the environment\'s account client, in ADAL\'s DeviceCodeResult shape',
    examples: [{
      userCode: 'WDJB-MJHT',
      deviceCode: 'dc_4Kb0m0GQqUWzc0mZFq3jx9V1tJ7cR2yNw8LhS5dPaEo',
      verificationUrl: 'http://127.0.0.1:3000/device',
      expiresOn: '2026-01-01T12:10:00.000000+00:00',
      interval: 5,
      message: 'To sign in, use a web browser to open the page http://127.0.0.1:3000/device and enter the code WDJB-MJHT to authenticate.',
      clientId: '0c8f1e2a-7b3d-4c5e-a6f9-1d2e3b4c5a6f',
      resource: 'http://127.0.0.1:3000',
    }],
  });

export const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    error: z.enum(VEEAM_ERROR_CODES).describe('The failure in OAuth terms (invalid_token, invalid_grant, …)'),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 7807 problem details, with the failure in OAuth terms',
    examples: [{ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'the session token has expired', error: 'invalid_token' }],
  });
