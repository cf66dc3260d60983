// Input shapes shared by the surfaces. Ids are looked up, not pattern-checked: an id that names
// nothing (malformed or unknown) is a 404 either way, never a validation error.
import { z } from 'zod';

/** One text input: bounded, and without NUL bytes: malformed input is a 4xx, never a 500. */
export const text = (max: number) =>
  z.string().max(max, 'too long').refine((s) => !s.includes('\0'), 'must not contain NUL bytes');

export const idParam = (description: string) => z.string().min(1).max(64).describe(description);
export const envIdParam = idParam('Environment id (UUID)');
