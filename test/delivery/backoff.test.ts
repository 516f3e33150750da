import { describe, expect, it } from 'vitest';
import { backoff } from '../../src/delivery/deliver.ts';

describe('backoff', () => {
  it('doubles per attempt, half fixed and half jitter', () => {
    expect([1, 2, 3, 4].map((attempt) => backoff(attempt, 2000, () => 0))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((attempt) => backoff(attempt, 2000, () => 0.999999))).toEqual([2000, 4000, 8000, 16000]);
    expect(backoff(3, 2000, () => 0.5)).toBe(6000);
  });

  it('never waits more than six hours', () => {
    expect(backoff(40, 2000, () => 1)).toBe(6 * 60 * 60 * 1000);
    expect(backoff(40, 2000, () => 0)).toBe(3 * 60 * 60 * 1000);
  });
});
