/** Follows `a.b.c` (or `a.0.c` into arrays) through parsed YAML/JSON; fails naming the path. */
export function at(tree: unknown, path: string): unknown {
  let node = tree;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in node)) {
      throw new Error(`missing ${path} (stopped at ${key})`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** An array in parsed YAML/JSON: the item whose `key` is `value`; fails naming it when absent. */
export function item(list: unknown, key: string, value: unknown): Record<string, unknown> {
  if (!Array.isArray(list)) throw new Error(`not a list looking for ${key}=${String(value)}`);
  const found = (list as Record<string, unknown>[]).find((entry) => entry[key] === value);
  if (!found) throw new Error(`no item with ${key}=${String(value)}`);
  return found;
}
