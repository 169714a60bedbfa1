/**
 * The exact source text of a top-level member value of a JSON object text. Intel signs the raw
 * bytes of `"tcbInfo"` / `"enclaveIdentity"` as they appear in the PCS response, so the verifier
 * must hash that substring, not a re-serialisation. Returns undefined when the key is absent.
 */
export function rawJsonMember(text: string, key: string): string | undefined {
  let depth = 0;
  let i = 0;
  const n = text.length;
  const skipString = (from: number): number => {
    let j = from + 1;
    while (j < n) {
      const c = text[j];
      if (c === '\\') j += 2;
      else if (c === '"') return j + 1;
      else j++;
    }
    return n;
  };
  const skipWs = (from: number): number => {
    let j = from;
    while (j < n && /\s/.test(text[j] ?? '')) j++;
    return j;
  };
  const valueEnd = (from: number): number => {
    let d = 0;
    let j = from;
    while (j < n) {
      const c = text[j];
      if (c === '"') {
        j = skipString(j);
        if (d === 0) return j;
        continue;
      }
      if (c === '{' || c === '[') d++;
      else if (c === '}' || c === ']') {
        if (d === 0) return j;
        d--;
        if (d === 0) return j + 1;
      } else if (d === 0 && c === ',') return j;
      j++;
    }
    return n;
  };
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      const end = skipString(i);
      if (depth === 1) {
        const after = skipWs(end);
        if (text[after] === ':') {
          const name = text.slice(i, end);
          const vStart = skipWs(after + 1);
          const vEnd = valueEnd(vStart);
          if (name === JSON.stringify(key)) return text.slice(vStart, vEnd).trimEnd();
          i = vEnd;
          continue;
        }
      }
      i = end;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return undefined;
}
