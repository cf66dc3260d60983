// Summaries of V8 .cpuprofile files (node --cpu-prof): self time by function and by package.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

export interface SelfTime {
  name: string;
  /** Milliseconds of self time. */
  ms: number;
  /** Share of all samples except idle. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled milliseconds, idle excluded. */
  busyMs: number;
  idleMs: number;
  /** Whether the load window lay inside the profile (the clocks agree); if not, the whole profile was counted. */
  windowed: boolean;
  functions: SelfTime[];
  areas: SelfTime[];
}

const ROOT = path.resolve(import.meta.dirname, '..');

function where(url: string): string {
  if (url === '') return '';
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
}

/** Which package or part of this project the code belongs to. */
function area(frame: CallFrame): string {
  const file = where(frame.url);
  if (file === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (file.startsWith('node:')) return 'node core';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (nm?.[1] !== undefined) return nm[1];
  const src = /^src\/([^/]+)(?:\/([^/]+))?/.exec(file);
  if (src?.[1] !== undefined) return src[2] !== undefined && !src[2].includes('.') ? `src/${src[1]}/${src[2]}` : `src/${src[1]}`;
  return file;
}

/** `window`: only samples taken between these monotonic µs (the measured load, not start-up or warm-up). */
export function summarise(file: string, window?: [number, number], top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // A sample's time is the delta to the next sample (the last one gets the mean).
  const mean = samples.length > 0 ? (p.endTime - p.startTime) / samples.length : 0;
  const windowed = window !== undefined && window[0] >= p.startTime && window[1] <= p.endTime;
  let t = p.startTime;
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i];
    t += deltas[i] ?? 0;
    if (id === undefined || (windowed && (t < window[0] || t > window[1]))) continue;
    const dt = deltas[i + 1] ?? mean;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fn = new Map<string, number>();
  const areas = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const loc = where(f.url);
    const name = `${f.functionName === '' ? '(anonymous)' : f.functionName}${loc === '' ? '' : ` ${loc}:${f.lineNumber + 1}`}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const a = area(f);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const rank = (m: Map<string, number>, n: number): SelfTime[] =>
    [...m.entries()].sort((x, y) => y[1] - x[1]).slice(0, n).map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return { file: where(file), windowed, busyMs: busy / 1000, idleMs: idle / 1000, functions: rank(fn, top), areas: rank(areas, 12) };
}
