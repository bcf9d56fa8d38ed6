/** Small DOM helpers: every text goes in as a text node, never as HTML. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

type Child = Node | string | false | null | undefined;

/** `h('li', { class: 'msg' }, 'text', h('b', {}, 'bold'))` */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') element.className = value;
    else element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== false && child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/** `<time>` showing hh:mm:ss in local time. */
export function clock(ts: number): HTMLTimeElement {
  const date = new Date(ts);
  const text = date.toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
  return h('time', { datetime: date.toISOString() }, text);
}

/** A message body or notification payload as text: strings as they are, anything else as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    // `{text, …}` and `{title, …}` read better as that text followed by the rest.
    const record = value as Record<string, unknown>;
    const key = ['text', 'title'].find((name) => typeof record[name] === 'string');
    if (key !== undefined) {
      const { [key]: lead, ...others } = record;
      const rest = Object.keys(others).length > 0 ? ` ${JSON.stringify(others)}` : '';
      return `${lead as string}${rest}`;
    }
  }
  return JSON.stringify(value);
}

/**
 * Adds an entry to a log, drops the oldest past `max`, and follows the end only when the reader
 * was already there (scrolling up to read is not interrupted).
 */
export function append(list: HTMLElement, item: HTMLElement, max = 500): void {
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 24;
  list.querySelector(':scope > .empty')?.remove();
  list.append(item);
  while (list.childElementCount > max) list.firstElementChild?.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Enables or disables every control that needs a signed-in connection. */
export function setSessionControls(enabled: boolean): void {
  for (const control of document.querySelectorAll<HTMLInputElement | HTMLButtonElement>(
    '.needs-session',
  )) {
    control.disabled = !enabled;
  }
}
