import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * The README stays short and every guide is reachable from it; no relative link in the docs points
 * at a file or heading that is gone (guides move text between each other); the README's test
 * command is the one CI runs.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const DOCS = [
  'README.md',
  'BENCHMARKS.md',
  'libs/client/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

const withoutCode = (text: string): string => text.replace(/```[\s\S]*?```/g, '');
const anchorsOf = (path: string): Set<string> =>
  new Set([...withoutCode(read(path)).matchAll(/^#+\s+(.*)$/gm)].map((m) => slug(m[1]!)));
/** Relative links of a Markdown file, outside code blocks. */
const linksOf = (path: string): string[] =>
  [...withoutCode(read(path)).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((link) => !/^[a-z]+:/.test(link));

describe('documentation', () => {
  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const doc of DOCS) {
      for (const link of linksOf(doc)) {
        const [path = '', anchor] = link.split('#');
        const target = path ? normalize(join(dirname(doc), path)) : doc;
        if (!existsSync(join(ROOT, target))) broken.push(`${doc}: ${link} (no file)`);
        else if (anchor && target.endsWith('.md') && !anchorsOf(target).has(anchor)) {
          broken.push(`${doc}: ${link} (no heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('keeps the README short and reaches every guide from it', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(170);
    const linked = new Set(linksOf('README.md').map((link) => normalize(link.split('#')[0]!)));
    const guides = DOCS.filter((doc) => doc.startsWith('docs/')).map((doc) =>
      relative(ROOT, join(ROOT, doc)),
    );
    expect(guides.filter((guide) => !linked.has(guide))).toEqual([]);
    for (const guide of [
      'getting-started',
      'protocol',
      'server-api',
      'sdk',
      'deploy',
      'reliability',
      'extending',
      'security',
    ]) {
      expect(linked).toContain(`docs/${guide}.md`);
    }
  });

  it('gives the commands that run the service and that CI runs to pass the tests', () => {
    const readme = read('README.md');
    const ciCommand = read('.ci/run').trim().split('\n').at(-1);
    expect(ciCommand).toBe('npm run check');
    expect(readme).toContain('npm ci && npm run check');
    expect(readme).toContain('npm ci && npm start');
  });
});
