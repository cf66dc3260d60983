// Time is injected so expiry and slow_down are tested without sleeping (docs/architecture.md).
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
