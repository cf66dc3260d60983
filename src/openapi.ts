// The OpenAPI document as generated from the route schemas, on a throwaway database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { openServices } from './services.ts';

export async function renderOpenApi(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dcs-openapi-'));
  try {
    const services = await openServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    const app = await buildApp({ services });
    try {
      await app.ready();
      return app.swagger({ yaml: true });
    } finally {
      await app.close();
      await services.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
