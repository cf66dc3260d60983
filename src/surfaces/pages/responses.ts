// How the page routes describe their answers in the OpenAPI document: every answer is HTML (an
// error is a page too, errors.ts), and every route can be refused the same two ways.
import { z } from 'zod';

/** An HTML answer, described. */
export const page = (what: string) => z.string().describe(`HTML: ${what}`);

/** The refusals any page route can give: its address's request budget spent, the database away. */
export const pageRefusals = {
  429: page('too many requests from this address (Retry-After)'),
  503: page('the database cannot be reached just now (Retry-After)'),
};

/** GET /signon: the flow's current step. */
export const signonGetResponses = {
  200: page("the flow's current step: sign-in form, code form, consent screen, done or failed page; with view=devices and a signed-in user, \"Your devices\""),
  400: page('a malformed query (flowId, user_code or signedOut over 64 characters, a NUL byte, or a view other than devices)'),
  404: page('the link has expired (unknown or expired flow, or another browser); under /{envID}, no such environment'),
  ...pageRefusals,
};
/** POST /signon: a step acted on. */
export const signonPostResponses = {
  303: z.null().describe('Location: the page again (Post/Redirect/Get); also when the flow had already moved on; after a sign-out, "Your devices" with signedOut'),
  400: page('the same form with a message: wrong password, wrong, expired or used code; or the failed page after too many codes'),
  403: page('missing or wrong CSRF token; nothing changed'),
  404: page("the link has expired (unknown or expired flow, or no cookie); under /{envID}, no such environment; a sign-out of a grant that is not the signed-in person's (nothing changed)"),
  413: page('the form sent too much data'),
  415: page('the body is not application/x-www-form-urlencoded'),
  429: page('too many requests or wrong codes from this address; the code form with a message (Retry-After)'),
  503: page('the step could not be saved (the database is out of storage or cannot be reached), or a code could not be checked (Redis unreachable; the code form with a message); nothing changed (Retry-After)'),
};
