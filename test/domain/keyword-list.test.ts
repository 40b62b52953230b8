import { describe, expect, it } from 'vitest';
import { boundedKeywordList, MAX_KEYWORD_LIST_BYTES, utf8Bytes } from '../../src/domain/keyword-list.js';

describe('a keyword list kept under Temporal\'s 2 KB search attribute value', () => {
  it('counts UTF-8 bytes as Buffer does, surrogate pairs included', () => {
    for (const s of ['', 'TEE-RED-M', 'été', '日本語', '👕x', 'a\u0800b']) expect(utf8Bytes(s)).toBe(Buffer.byteLength(s, 'utf8'));
  });

  it('keeps a short list whole', () => {
    expect(boundedKeywordList(['A', 'B'])).toEqual({ kept: ['A', 'B'], omitted: 0 });
  });

  it('keeps the longest prefix whose JSON fits, and says how many it left out', () => {
    const skus = Array.from({ length: 100 }, (_, i) => `SKU-${String(i).padStart(3, '0')}-${'x'.repeat(36)}`);
    const { kept, omitted } = boundedKeywordList(skus);
    expect(Buffer.byteLength(JSON.stringify(kept), 'utf8')).toBeLessThanOrEqual(MAX_KEYWORD_LIST_BYTES);
    expect(kept).toEqual(skus.slice(0, kept.length));
    expect(omitted).toBe(100 - kept.length);
    // One more would not have fitted.
    expect(Buffer.byteLength(JSON.stringify(skus.slice(0, kept.length + 1)), 'utf8')).toBeGreaterThan(MAX_KEYWORD_LIST_BYTES);
  });

  it('counts multi-byte SKUs by their bytes, not their characters', () => {
    const wide = Array.from({ length: 50 }, (_, i) => `${'日'.repeat(40)}${i}`);
    const { kept } = boundedKeywordList(wide);
    expect(Buffer.byteLength(JSON.stringify(kept), 'utf8')).toBeLessThanOrEqual(MAX_KEYWORD_LIST_BYTES);
    expect(kept.length).toBeLessThan(15);
  });
});
