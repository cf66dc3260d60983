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
