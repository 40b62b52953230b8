import { describe, expect, it } from 'vitest';
import { keyProblem } from '../../src/domain/limits.js';
import { skuLocationKey } from '../../src/domain/sku-location.js';

describe('keys a pulled source row may carry (delta sync screens every row with keyProblem)', () => {
  it('a location code with "|" would make two keys one: refused, naming it', () => {
    expect(skuLocationKey({ sku: 'A|B', locationId: 'C' })).toBe(skuLocationKey({ sku: 'A', locationId: 'B|C' }));
    expect(keyProblem({ shopId: 's', sku: 'A', locationId: 'B|C' })).toMatch(/locationId "B\|C": expected no "\|" in a location code/);
  });

  it('a SKU may hold "|" (with none in the location the key is unambiguous), and an overlong id is still refused', () => {
    expect(keyProblem({ shopId: 's', sku: 'A|B', locationId: 'C' })).toBeNull();
    expect(keyProblem({ shopId: 's', sku: 'x'.repeat(256), locationId: 'C' })).toMatch(/sku is 256 characters/);
  });
});
