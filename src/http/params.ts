// Path parameters shared by the surfaces. Ids are looked up, not pattern-checked: an id that
// names nothing (malformed or unknown) is a 404 either way, never a validation error.
import { z } from 'zod';

export const idParam = (description: string) => z.string().min(1).max(64).describe(description);
export const envIdParam = idParam('Environment id (UUID)');
