/**
 * Temporal refuses a search attribute value over 2 KB (`frontend.searchAttributesSizeOfValueLimit`, 2,048 bytes of
 * the value's JSON) and, when a workflow task upserts one, TERMINATES the workflow (v1.29.1,
 * workflow_task_completed_handler.go). An order of many lines with long SKUs would end its reservation workflow,
 * and with it the expiry timer. A keyword list we publish is kept under this many bytes.
 */
export const MAX_KEYWORD_LIST_BYTES = 1800;

/** UTF-8 bytes of a string, counted without TextEncoder (workflow code runs in Temporal's sandbox). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

/**
 * The longest prefix of `values` whose JSON array fits in `maxBytes`, and how many were left out. Deterministic
 * (same input, same output), so workflow code may call it.
 */
export function boundedKeywordList(values: readonly string[], maxBytes = MAX_KEYWORD_LIST_BYTES): { kept: string[]; omitted: number } {
  const kept: string[] = [];
  let bytes = 2; // []
  for (const v of values) {
    const size = utf8Bytes(JSON.stringify(v)) + (kept.length > 0 ? 1 : 0);
    if (bytes + size > maxBytes) break;
    kept.push(v);
    bytes += size;
  }
  return { kept, omitted: values.length - kept.length };
}
