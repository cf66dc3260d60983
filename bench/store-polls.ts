// The SQLite store's share of a token poll, without HTTP: how much a poll's read and its recorded
// time cost as the table grows (bench/RESULTS.md, growth target). For each size, a database of its
// own is seeded with that many pending codes (bench/seed.ts); then every size's store, opened as the
// server opens it (its group commit and checkpoint thread included), takes turns polling its codes
// at random, `--batch` polls at a time (one group commit each, as a busy server's event-loop turn),
// the order reversed every other round. A turn's CPU is the whole process's (the checkpoint thread's
// too), per poll; the device codes are hashed beforehand, as that cost does not depend on the size.
//
// Pin it to a quiet core: taskset -c 1 node bench/store-polls.ts [--sizes 10000,1000000]
//                                      [--rounds 3] [--seconds 5] [--batch 50]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { SLOW_DOWN_STEP_SECONDS } from '../src/core/device-flow.ts';
import { openServices, type Services } from '../src/services.ts';
import { count, positive } from './args.ts';
import { Seeder } from './seed.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,1000000' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '50' },
  },
});
const sizes = args.sizes.split(',').map((s) => count('sizes', s.trim()));
const rounds = count('rounds', args.rounds);
const seconds = positive('seconds', args.seconds);
const batch = count('batch', args.batch);

interface Size { codes: number; services: Services; envId: string; clientId: string; hashes: string[]; turns: { us: number; wallUs: number }[] }

const work = mkdtempSync(path.join(tmpdir(), 'dcs-store-polls-'));
const opened: Size[] = [];
try {
  for (const codes of sizes) {
    const config = loadConfig({ DATA_DIR: path.join(work, String(codes)), LOG_LEVEL: 'warn' });
    const t0 = performance.now();
    const seeder = await Seeder.open(config);
    let clientId: string;
    let deviceCodes: string[];
    try {
      const client = await seeder.client({ name: 'Store poller', codeLifetime: 3600 });
      clientId = client.clientId;
      deviceCodes = (await seeder.pendingCodes(client, codes)).map((c) => c.deviceCode);
    } finally {
      await seeder.close();
    }
    const services = await openServices(config);
    const hashes = deviceCodes.map((code) => services.secrets.hashCode('device', code));
    opened.push({ codes, services, envId: services.defaultEnv.id, clientId, hashes, turns: [] });
    console.log(`${codes.toLocaleString()} codes seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const turn = async (s: Size): Promise<void> => {
    const store = s.services.store.deviceAuthorizations;
    const end = performance.now() + seconds * 1000;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let polls = 0;
    while (performance.now() < end) {
      const now = Date.now();
      const reads = [];
      for (let i = 0; i < batch; i++) {
        const hash = s.hashes[Math.floor(Math.random() * s.hashes.length)] as string;
        reads.push(store.poll(hash, { envId: s.envId, clientId: s.clientId, now, slowDownStep: SLOW_DOWN_STEP_SECONDS }));
      }
      for (const read of await Promise.all(reads)) if (read === undefined) throw new Error('a seeded code was not found');
      polls += batch;
    }
    const cpu = process.cpuUsage(cpu0);
    s.turns.push({ us: (cpu.user + cpu.system) / polls, wallUs: ((performance.now() - t0) * 1000) / polls });
  };
  for (let round = 0; round < rounds; round++) {
    for (const s of round % 2 === 0 ? opened : [...opened].reverse()) await turn(s);
  }

  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const first = median(opened[0]?.turns.map((t) => t.us) ?? []);
  console.log(`\n| live codes | CPU µs a poll, each turn | median | vs ${opened[0]?.codes.toLocaleString() ?? ''} | wall µs a poll (median) |`);
  console.log('|---:|---|---:|---:|---:|');
  for (const s of opened) {
    const us = median(s.turns.map((t) => t.us));
    console.log(`| ${s.codes.toLocaleString()} | ${s.turns.map((t) => t.us.toFixed(1)).join(' / ')} | ${us.toFixed(1)} | +${(us - first).toFixed(1)} µs | ${median(s.turns.map((t) => t.wallUs)).toFixed(1)} |`);
  }
} finally {
  for (const s of opened) await s.services.close();
  rmSync(work, { recursive: true, force: true });
}
