const PLAIN_TOKEN = /^[A-Za-z0-9_:-]+$/;

/**
 * Makes any string safe as one token of a relay subject. Plain values (`[A-Za-z0-9_:-]+`) pass
 * unchanged so subjects stay readable; anything else (dots, spaces, `*`, `>`, empty, non-ASCII)
 * becomes `~` + base64url of its UTF-8 bytes, which can never split into several tokens or act as
 * a wildcard. `~` is outside the plain alphabet, so an encoded token never equals a plain one.
 */
export function subjectToken(value: string): string {
  if (PLAIN_TOKEN.test(value)) return value;
  return `~${Buffer.from(value, 'utf8').toString('base64url')}`;
}

// NATS forbids whitespace anywhere in a subject: it would split the protocol line.
const WHITESPACE = /\s/;

/**
 * Throws unless `subject` is a valid NATS subject: non-empty tokens separated by dots, no
 * whitespace, and wildcards only where allowed. Both relays check the same rules so a subject that
 * works in single-process mode cannot fail only once NATS is in use.
 */
export function assertValidSubject(subject: string, usage: 'publish' | 'subscribe'): void {
  const tokens = subject.split('.');
  const bad = (why: string): never => {
    throw new Error(`invalid ${usage} subject ${JSON.stringify(subject)}: ${why}`);
  };
  if (subject === '' || WHITESPACE.test(subject)) bad('empty or contains whitespace');
  tokens.forEach((token, i) => {
    if (token === '') bad('empty token');
    const wildcard = token === '*' || token === '>';
    if (wildcard && usage === 'publish') bad('wildcards are only valid when subscribing');
    if (token === '>' && i !== tokens.length - 1) bad("'>' must be the last token");
  });
}

/** Whether a concrete `subject` matches a subscription `pattern` with NATS wildcard rules. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}
