// The context of the request being answered (README "Where a request came from"): its source
// address as Fastify resolved it (the socket's, or under TRUST_PROXY the client's from
// X-Forwarded-For, see app.ts) and its User-Agent, looked up in the IP databases. Only the device
// authorization endpoints and the verification front ends ask; the token endpoint never does.
import type { FastifyRequest } from 'fastify';
import type { GeoIp } from '../geoip/geoip.ts';
import type { RequestContext } from '../model/records.ts';

export function requestContext(request: FastifyRequest, geoIp: GeoIp): RequestContext {
  const ua = request.headers['user-agent'];
  return geoIp.context(request.ip, typeof ua === 'string' ? ua : undefined);
}
