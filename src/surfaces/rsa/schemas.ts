// Request and response schemas of the RSA facade (deviceRegistrationCode and its neighbouring
// endpoints; docs/vendors.md).
import { z } from 'zod';
import { text } from '../../http/params.ts';
import { rsaBody } from './body.ts';

const email = text(320).regex(/^[^\s@]{1,64}@[^\s@]{1,255}$/);
const username = text(128).min(1);
const appId = text(64).min(1).describe('1f00c62b-a5c0-49d3-9ffb-92314d717187 (RSA Authenticator) or one added with `app add`');

export const registrationCodeBody = rsaBody('RsaRegistrationCodeRequest', {
  fields: { email, username, appId }, counts: [2], oneOf: ['email', 'username'], required: ['appId'],
});

export const lookupBody = rsaBody('RsaUserLookupRequest', {
  fields: { email, username, searchUnsynched: z.boolean() }, counts: [1, 2], oneOf: ['email', 'username'], required: [],
});

export const redemptionBody = rsaBody('DeviceRegistrationRequest', {
  fields: { deviceRegistrationCode: text(64), appId, deviceName: text(200).min(1), platform: text(64).min(1) },
  counts: [4],
  required: ['deviceRegistrationCode', 'appId', 'deviceName', 'platform'],
});

export const registrationCodeResponse = z
  .object({
    companyID: z.string(),
    deviceRegistrationCode: z.string().describe('Nine digits, leading zeros kept'),
    email: z.string().optional().describe('As requested (one of email or username)'),
    username: z.string().optional(),
    expirationDate: z.string().describe('ISO 8601 UTC with milliseconds'),
  })
  .meta({
    id: 'RsaRegistrationCode',
    description: 'A one-time device registration code for the user; the authenticator app redeems it',
    examples: [{ companyID: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9', deviceRegistrationCode: '034812957', email: 'alice@example.com', expirationDate: '2026-01-02T12:00:00.000Z' }],
  });

export const userDetails = z
  .object({
    id: z.string(),
    emailAddress: z.string(),
    username: z.string(),
    creationDate: z.string(),
    identitySource: z.string(),
    userStatus: z.enum(['Enabled', 'Disabled']),
    markDeleted: z.boolean(),
    highRiskUser: z.boolean(),
  })
  .meta({ id: 'RsaUserDetails', description: 'The user' });

export const device = z
  .object({
    id: z.string(),
    userId: z.string(),
    appId: z.string(),
    deviceName: z.string(),
    platform: z.string(),
    registrationDate: z.string(),
  })
  .meta({ id: 'RegisteredDevice', description: 'A registered device' });

export const devicesResponse = z.object({ userId: z.string(), devices: z.array(device) }).meta({ id: 'RsaUserDevices', description: 'The user\'s registered devices (at most one)' });

export const rsaError = z
  .object({
    timestamp: z.number().int().describe('Epoch milliseconds'),
    status: z.number().int(),
    error: z.string().describe('HTTP reason phrase'),
    message: z.string(),
    path: z.string(),
  })
  .meta({
    id: 'RsaError',
    description: 'RSA\'s error body',
    examples: [{ timestamp: 1767268800000, status: 404, error: 'Not Found', message: 'User not found.', path: '/AdminInterface/restapi/v1/users/lookup' }],
  });
