import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { ChildReplica } from '../support/child-replica';
import { tokenFor } from '../support/tokens';

/**
 * The console page at `/` in a real browser: Debian's Chromium driven by playwright-core, two
 * users on the two replicas of a cluster with NATS. Nothing is skipped: without Chromium the
 * suite fails and says how to get it.
 */

const ROOT = join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Flags that work offline and as root in a container: no sandbox, GPU, QUIC or Google services. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = join(ROOT, 'test', 'screenshots');
/** The README's screenshot: written when missing, or again with UPDATE_SCREENSHOTS=1. */
const README_SCREENSHOT = join(ROOT, 'docs', 'images', 'console.png');
/** How long one step (a click, a message showing up) may take. */
const STEP_MS = 15_000;
const VIEWPORT = { width: 1280, height: 800 };

jest.setTimeout(90_000);

function checkPrerequisites(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. This suite drives a real browser and skips ` +
        'nothing: .ci/run installs it (apt-get install -y chromium). Locally: ' +
        '`apt-get install -y chromium`, or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
  }
  if (!existsSync(join(ROOT, 'dist', 'public', 'index.html'))) {
    throw new Error('dist/public/index.html is missing: run `npm run build` first (npm test does)');
  }
}

interface User {
  name: string;
  context: BrowserContext;
  page: Page;
  errors: string[];
}

describe('the console page in a browser', () => {
  let nats: NatsServerHandle;
  let a: ChildReplica;
  let b: ChildReplica;
  let browser: Browser;
  let alice: User;
  let bob: User;

  /** Opens the page served by `replica`, with both replicas' WebSocket URLs, its own first. */
  async function signIn(name: string, replica: ChildReplica, other: ChildReplica): Promise<User> {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const urls = [replica.wsUrl, other.wsUrl].join(',');
    await page.goto(`${replica.url}/?urls=${encodeURIComponent(urls)}`);
    await page.locator('#mode[data-mode="development"]').waitFor();
    await page.getByLabel('User name').fill(name);
    await page.getByRole('button', { name: 'Sign in and connect' }).click();
    await page.locator('#conn-state[data-state="live"]').waitFor();
    await page.locator('#replica', { hasText: replica.id }).waitFor();
    return { name, context, page, errors };
  }

  async function joinRoom(user: User, room: string): Promise<void> {
    await user.page.getByLabel('Room', { exact: true }).fill(room);
    await user.page.getByRole('button', { name: 'Join', exact: true }).click();
    await user.page.getByRole('button', { name: `#${room}`, pressed: true }).waitFor();
  }

  async function say(user: User, text: string): Promise<void> {
    await user.page.locator('#message').fill(text);
    await user.page.locator('#message').press('Enter');
  }

  function message(user: User, text: string) {
    return user.page.locator('#messages li.msg', { hasText: text });
  }

  async function screenshot(user: User, name: string): Promise<string> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const path = join(SCREENSHOTS, `${name}.png`);
    await user.page.screenshot({ path, fullPage: true });
    return path;
  }

  async function connectionLog(user: User): Promise<string[]> {
    return user.page.locator('#connlog li').allInnerTexts();
  }

  beforeAll(async () => {
    checkPrerequisites();
    nats = await startNatsServer();
    const env = { PRESENCE_HEARTBEAT_MS: '500' };
    [a, b] = await Promise.all([
      ChildReplica.start({ id: 'a', natsUrl: nats.url, env }),
      ChildReplica.start({ id: 'b', natsUrl: nats.url, env }),
    ]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
      timeout: 30_000,
    });
    [alice, bob] = await Promise.all([signIn('alice', a, b), signIn('bob', b, a)]);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([a?.close(), b?.close()]);
    await nats?.stop();
  });

  afterEach(() => {
    expect([...(alice?.errors ?? []), ...(bob?.errors ?? [])]).toEqual([]);
  });

  it('signs two users in on two replicas; they chat, see each other and message directly', async () => {
    await joinRoom(alice, 'lobby');
    await joinRoom(bob, 'lobby');
    await alice.page.locator('#members li', { hasText: 'bob' }).waitFor();
    await bob.page.locator('#members li', { hasText: 'alice' }).waitFor();

    await say(alice, 'Hello from replica a');
    await message(bob, 'Hello from replica a').waitFor();
    await say(bob, 'Hi alice, bob here on b');
    await message(alice, 'Hi alice, bob here on b').waitFor();
    expect(await message(alice, 'Hello from replica a').innerText()).toContain('alice (you)');
    await say(alice, 'Same room, two replicas, relayed through NATS.');
    await message(bob, 'relayed through NATS').waitFor();

    await bob.page.getByLabel('To', { exact: true }).fill('alice');
    await bob.page.locator('#dm-body').fill('psst, a direct one');
    await bob.page.locator('#dm-body').press('Enter');
    await alice.page.locator('#directs li', { hasText: 'bob → you: psst, a direct one' }).waitFor();
    await bob.page.locator('#directs li', { hasText: 'you → alice: psst, a direct one' }).waitFor();
  });

  it('shows a notification pushed over HTTP to its user only, and the cluster panel', async () => {
    for (const user of [alice, bob]) {
      for (const stream of ['private.orders', 'public.news']) {
        await user.page.getByLabel('Stream', { exact: true }).fill(stream);
        await user.page.getByRole('button', { name: 'Subscribe', exact: true }).click();
        await user.page.locator('#streams li', { hasText: stream }).waitFor();
      }
    }
    const push = async (body: object): Promise<void> => {
      const response = await fetch(`${a.url}/notifications`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokenFor('shop', { scope: 'notifications:publish' })}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(202);
    };
    await push({ stream: 'private.orders', userId: 'bob', payload: { title: 'Order 42 shipped' } });
    await push({ stream: 'public.news', payload: { title: 'Maintenance at 22:00' } });

    const bobsOrder = bob.page.locator('#notification-log li', { hasText: 'Order 42 shipped' });
    await bobsOrder.waitFor();
    expect(await bobsOrder.innerText()).toContain('private.orders');
    await alice.page.locator('#notification-log li', { hasText: 'Maintenance at 22:00' }).waitFor();
    await bob.page.locator('#notification-log li', { hasText: 'Maintenance at 22:00' }).waitFor();
    // The public push went out after the private one: had alice been sent bob's, she has it now.
    expect(await alice.page.locator('#notification-log').innerText()).not.toContain('Order 42');

    // Each replica has one user; the panel polls every 2 s and needs two reports for rates.
    for (const user of [alice, bob]) {
      await user.page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll('#cluster-rows tr'));
        const cells = rows.flatMap((row) => Array.from(row.querySelectorAll('td')));
        return (
          rows.map((row) => row.getAttribute('data-replica')).join() === 'a,b' &&
          rows.every((row) => row.querySelector('td')?.textContent === '1') &&
          cells.every((td) => td.textContent !== '…')
        );
      });
    }
    const row = alice.page.locator('#cluster-rows tr[data-replica="a"]');
    expect(await row.innerText()).toMatch(/^a connected served this page\s+1\s/);

    await bob.page.locator('#message').focus();
    await screenshot(alice, 'console-alice');
    const path = await screenshot(bob, 'console-bob');
    if (!existsSync(README_SCREENSHOT) || process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
      await bob.page.screenshot({ path: README_SCREENSHOT, fullPage: true });
    }
    expect(statSync(path).size).toBeGreaterThan(10_000);
  });

  it('shows "resuming" when its replica is killed, then live on the other with what it missed', async () => {
    // Offline, the page keeps its open socket but cannot open another: alice's reconnection
    // waits until bob has sent, so those messages can only reach her through the resume.
    await alice.context.setOffline(true);
    await a.kill();
    await alice.page.locator('#connlog li', { hasText: 'disconnected from' }).first().waitFor();

    await say(bob, 'Sent while alice was away (1)');
    await say(bob, 'Sent while alice was away (2)');
    await message(bob, 'Sent while alice was away (2)').waitFor();
    await alice.context.setOffline(false);

    await alice.page.locator('#conn-state[data-state="live"]').waitFor({ timeout: 45_000 });
    await alice.page.locator('#replica', { hasText: 'b' }).waitFor();
    for (const n of [1, 2]) {
      const missed = message(alice, `Sent while alice was away (${n})`);
      await missed.waitFor();
      expect(await missed.locator('.tag').innerText()).toBe('missed');
    }
    const log = await connectionLog(alice);
    const disconnected = log.findIndex((line) => line.includes('disconnected from'));
    const resuming = log.findIndex((line) => line.includes('resuming on b'));
    const live = log.findIndex((line) => line.includes('live on b again'));
    expect(disconnected).toBeGreaterThanOrEqual(0);
    expect(resuming).toBeGreaterThan(disconnected);
    expect(live).toBeGreaterThan(resuming);
    expect(log[live]).toContain('2 missed messages delivered');
    expect(await alice.page.locator('#recovery').innerText()).toMatch(
      /^Recovered on b .* none lost/,
    );

    // And the conversation goes on, both now on b.
    await say(alice, 'Back, through b');
    await message(bob, 'Back, through b').waitFor();
    await screenshot(alice, 'console-alice-after-failover');

    await alice.page.getByRole('button', { name: 'Sign out' }).click();
    await alice.page.getByLabel('User name').waitFor();
    expect(await alice.page.locator('#message').isDisabled()).toBe(true);
  });
});
