// Regenerates openapi.yaml from the route schemas (npm run openapi). test/openapi.test.ts fails
// when the checked-in file and the routes drift apart.
import { writeFileSync } from 'node:fs';
import { renderOpenApi } from '../src/openapi.ts';
import { OPENAPI_FILE } from '../src/surfaces/ops/routes.ts';

writeFileSync(OPENAPI_FILE, await renderOpenApi());
console.log(`wrote ${OPENAPI_FILE}`);
