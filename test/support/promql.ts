/** What a PromQL expression reads: enough of the language to check names against /metrics. */

export interface Selector {
  metric: string;
  /** Label names matched in the selector's braces. */
  labels: string[];
}

const KEYWORDS = new Set([
  'by',
  'without',
  'and',
  'or',
  'unless',
  'offset',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
]);

/** Label names in `by (…)` / `without (…)` / `on (…)` / `ignoring (…)` clauses. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((label) => label.trim())
      .filter(Boolean),
  );
}

/** The series selectors of an expression: metric names (not functions or keywords) and labels. */
export function selectors(expr: string): Selector[] {
  const stripped = expr
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const found: Selector[] = [];
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name = '', braces, call] = m;
    if (call || KEYWORDS.has(name) || /^\d/.test(name)) continue;
    // A number's exponent or a duration unit is not a name (`1e3`, `5m` only appear inside []).
    if (m.index > 0 && /[\d.]/.test(stripped[m.index - 1]!)) continue;
    const labels = [...(braces ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1]!,
    );
    found.push({ metric: name, labels });
  }
  return found;
}
