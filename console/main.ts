/**
 * The console page served at `/`: sign in, follow the connection (which replica, which state),
 * chat in rooms, send direct messages, subscribe to notification streams, see who is in a room,
 * and watch the cluster. Everything goes through the client SDK, `@app/client`.
 */
import { connect, type ClientState, type RealtimeClient, type RecoveredEvent } from '@app/client';
import { ClusterPanel } from './cluster';
import { append, byId, clock, errorText, h, setSessionControls } from './dom';
import { DirectsView, NotificationsView } from './inbox';
import { RoomsView } from './rooms';
import { DevTokensDisabled, detectMode, devToken, wsUrls, type Mode } from './service';

const MODE_TEXT: Record<Mode, string> = {
  development:
    'Development mode: anyone can get a token for any user name (POST /auth/dev-token). Do not expose this service.',
  tokens:
    'Development tokens are off (a signing key is configured, or NODE_ENV=production): sign in with a token.',
  unreachable: 'The service did not answer. Is it running?',
};

const { urls, invalid } = wsUrls(location.search, location);
const rooms = new RoomsView();
const directs = new DirectsView();
const notifications = new NotificationsView();
let mode: Mode = 'unreachable';
let token: string | undefined;
let client: RealtimeClient | undefined;
let stopListening: Array<() => void> = [];
const cluster = new ClusterPanel(() => token);

/** A line in the connection log. */
function note(text: string, kind: '' | 'ok' | 'warn' | 'bad' = ''): void {
  append(byId('connlog'), h('li', { class: kind }, clock(Date.now()), ' ', text), 200);
}

function showMode(next: Mode): void {
  mode = next;
  const banner = byId('mode');
  banner.dataset.mode = next;
  banner.textContent = MODE_TEXT[next];
  byId('signin-user').hidden = next === 'tokens';
  byId('signin-token').hidden = next !== 'tokens';
}

/** The token's `sub`, read without verifying it (the server does that). */
function subject(jwt: string): string | undefined {
  try {
    const payload = jwt.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const { sub } = JSON.parse(json) as { sub?: unknown };
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

function describe(event: RecoveredEvent): string {
  if (event.kind === 'room') return `#${event.room}`;
  if (event.kind === 'stream') return `stream ${event.stream}`;
  return 'the direct-message inbox';
}

function setState(state: ClientState): void {
  const badge = byId('conn-state');
  badge.dataset.state = state;
  badge.textContent = state;
  document.title = `${state} · Realtime relay console`;
}

function showRecovery(text: string, recovered: boolean): void {
  const line = byId('recovery');
  line.hidden = false;
  line.dataset.recovered = String(recovered);
  line.textContent = text;
}

async function signIn(): Promise<void> {
  const error = byId('signin-error');
  error.textContent = '';
  let getToken: (() => Promise<string>) | undefined;
  if (mode === 'tokens') {
    const pasted = byId<HTMLTextAreaElement>('token').value.trim();
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(pasted) || !subject(pasted)) {
      error.textContent = 'That is not a JWT with a user (sub).';
      return;
    }
    token = pasted;
  } else {
    const userId = byId<HTMLInputElement>('user').value.trim();
    if (!userId) {
      error.textContent = 'Enter a user name.';
      return;
    }
    try {
      token = await devToken(userId);
    } catch (failure) {
      if (failure instanceof DevTokensDisabled) {
        showMode('tokens');
        error.textContent = 'This service signs no development tokens: paste a token instead.';
        byId('token').focus();
      } else {
        error.textContent = `No token for ${userId}: ${errorText(failure)}`;
      }
      return;
    }
    localStorage.setItem('console.user', userId);
    getToken = async () => (token = await devToken(userId));
  }
  start(token, getToken);
}

function start(first: string, getToken: (() => Promise<string>) | undefined): void {
  const userId = subject(first) ?? '?';
  const current = connect({ urls, token: first, getToken, inbox: 'history' });
  client = current;
  /** From a lost connection until live again: what the resume brought back, what it could not. */
  let outage: { since: number; missed: number; lost: string[] } | undefined;
  const missed = (): boolean => {
    if (current.state !== 'resuming' || !outage) return false;
    outage.missed += 1;
    return true;
  };

  // Removed on sign-out: the last events of a closed client must not touch the page.
  stopListening = [
    current.on('state', ({ state }) => {
      setState(state);
      const replica = current.connection?.replica ?? '?';
      if (state === 'connecting') note('connecting…');
      else if (state === 'resuming') {
        note(`resuming on ${replica}: re-joining rooms, streams and the inbox`, 'warn');
      } else if (state === 'live' && outage) {
        const seconds = ((Date.now() - outage.since) / 1000).toFixed(1);
        const count = `${outage.missed} missed ${outage.missed === 1 ? 'message' : 'messages'}`;
        note(`live on ${replica} again after ${seconds} s: ${count} delivered`, 'ok');
        if (outage.lost.length === 0) {
          showRecovery(
            `Recovered on ${replica} after ${seconds} s: ${count} delivered, none lost.`,
            true,
          );
        } else {
          showRecovery(
            `Resumed on ${replica}, but messages may be missing in ${outage.lost.join(', ')}.`,
            false,
          );
        }
        outage = undefined;
        void rooms.refreshMembers();
      } else if (state === 'live') note(`live on ${replica}`, 'ok');
      else if (state === 'closed') note('closed', 'bad');
    }),
    current.on('welcome', ({ replica, userId: who }) => {
      byId('replica').textContent = replica;
      byId('me').textContent = who ?? 'anonymous';
      cluster.setConnectedReplica(replica);
    }),
    current.on('disconnect', ({ code, reason, url, retryInMs }) => {
      outage ??= { since: Date.now(), missed: 0, lost: [] };
      const retry =
        retryInMs === undefined ? 'not retrying' : `retry in ${(retryInMs / 1000).toFixed(1)} s`;
      note(
        `disconnected from ${url} (code ${code}${reason ? `, ${reason}` : ''}); ${retry}`,
        'bad',
      );
    }),
    current.on('recovered', (event) => {
      const where = describe(event);
      note(`recovered: false for ${where} (${event.reason}): messages may be missing`, 'warn');
      if (outage) outage.lost.push(`${where} (${event.reason})`);
      else showRecovery(`Messages may be missing in ${where} (${event.reason}).`, false);
    }),
    current.on('error', (error) => note(`error: ${errorText(error)}`, 'bad')),
    current.on('message', (message) => rooms.onMessage(message, missed())),
    current.on('direct', (message) => directs.onDirect(message, missed())),
    current.on('notification', (message) => notifications.onNotification(message, missed())),
    current.on('presence', (change) => rooms.onPresence(change)),
  ];

  rooms.start(current, userId);
  directs.start(current, userId);
  notifications.start(current);
  byId('me').textContent = userId;
  byId('replica').textContent = '–';
  byId('urls').replaceChildren(...urls.map((url) => h('li', {}, url)));
  byId('recovery').hidden = true;
  byId('signin-form').hidden = true;
  byId('connected').hidden = false;
  setState(current.state);
  note(`connecting as ${userId}…`);
  setSessionControls(true);
  byId('room').focus();
}

async function signOut(): Promise<void> {
  const closing = client;
  client = undefined;
  for (const stop of stopListening) stop();
  stopListening = [];
  token = undefined;
  rooms.stop();
  directs.stop();
  notifications.stop();
  setSessionControls(false);
  cluster.setConnectedReplica(undefined);
  byId('connected').hidden = true;
  byId('signin-form').hidden = false;
  note('signed out');
  byId('user').focus();
  await closing?.close();
}

async function main(): Promise<void> {
  setSessionControls(false);
  byId<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn();
  });
  byId('signout').addEventListener('click', () => void signOut());
  const user = byId<HTMLInputElement>('user');
  user.value =
    new URLSearchParams(location.search).get('user') ?? localStorage.getItem('console.user') ?? '';
  for (const bad of invalid) note(`ignored ${bad} in ?urls=: not a ws:// or wss:// URL`, 'warn');
  note(`servers: ${urls.join(', ')}`);
  showMode(await detectMode());
  cluster.start();
  user.focus();
}

void main();
