import type { DirectMessage, Notification, RealtimeClient } from '@app/client';
import { append, byId, clock, errorText, h, show } from './dom';

interface Session {
  client: RealtimeClient;
  userId: string;
}

function missedTag(missed: boolean): HTMLElement | false {
  return (
    missed &&
    h(
      'span',
      {},
      ' ',
      h('span', { class: 'tag', title: 'Delivered by the resume after a reconnect' }, 'missed'),
    )
  );
}

/** Direct messages: the inbox (to and from this user) and the form to send one. */
export class DirectsView {
  private session?: Session;
  /** The SDK does not echo what this client sent, but a later inbox replay does: show it once. */
  private readonly shown = new Set<string>();
  private readonly log = byId<HTMLOListElement>('directs');
  private readonly error = byId('direct-error');

  constructor() {
    byId<HTMLFormElement>('direct-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send();
    });
  }

  start(client: RealtimeClient, userId: string): void {
    this.session = { client, userId };
  }

  stop(): void {
    this.session = undefined;
    this.shown.clear();
    this.log.replaceChildren();
  }

  onDirect(message: DirectMessage, missed: boolean): void {
    this.show(message.id, message.from, message.to, message.body, message.ts, missed);
  }

  private show(id: string, from: string, to: string, body: unknown, ts: number, missed = false) {
    if (this.shown.has(id)) return;
    this.shown.add(id);
    const me = this.session?.userId;
    const who = from === me ? `you → ${to}` : to === me ? `${from} → you` : `${from} → ${to}`;
    append(
      this.log,
      h('li', {}, clock(ts), ' ', h('strong', {}, who), ': ', show(body), missedTag(missed)),
    );
  }

  private async send(): Promise<void> {
    const session = this.session;
    const to = byId<HTMLInputElement>('dm-to');
    const body = byId<HTMLInputElement>('dm-body');
    if (!session || !to.reportValidity() || !body.reportValidity()) return;
    const [recipient, text] = [to.value.trim(), body.value.trim()];
    this.error.textContent = '';
    body.value = '';
    try {
      const { id } = await session.client.direct(recipient, text);
      this.show(id, session.userId, recipient, text, Date.now());
    } catch (error) {
      this.error.textContent = `Not sent to ${recipient}: ${errorText(error)}`;
      if (body.value === '') body.value = text;
    }
  }
}

/** Notification streams: subscribe, unsubscribe, and what arrives on them. */
export class NotificationsView {
  private client?: RealtimeClient;
  private readonly streams = new Set<string>();
  private readonly log = byId<HTMLOListElement>('notification-log');
  private readonly chips = byId<HTMLUListElement>('streams');
  private readonly error = byId('notify-error');

  constructor() {
    byId<HTMLFormElement>('subscribe-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const field = byId<HTMLInputElement>('stream');
      const stream = field.value.trim();
      if (!/^(public|private)\.[A-Za-z0-9._:-]{1,128}$/.test(stream)) {
        this.error.textContent = 'A stream is public.<name> or private.<name>.';
        return;
      }
      field.value = '';
      void this.subscribe(stream);
    });
  }

  start(client: RealtimeClient): void {
    this.client = client;
  }

  stop(): void {
    this.client = undefined;
    this.streams.clear();
    this.log.replaceChildren();
    this.render();
  }

  onNotification(notification: Notification, missed: boolean): void {
    append(
      this.log,
      h(
        'li',
        {},
        clock(notification.ts),
        ' ',
        h('span', { class: 'stream' }, notification.stream),
        ' ',
        show(notification.payload),
        missedTag(missed),
      ),
    );
  }

  private async subscribe(stream: string): Promise<void> {
    if (!this.client) return;
    this.error.textContent = '';
    try {
      await this.client.subscribe([stream]);
      this.streams.add(stream);
      this.render();
    } catch (error) {
      this.error.textContent = `Could not subscribe to ${stream}: ${errorText(error)}`;
    }
  }

  private async unsubscribe(stream: string): Promise<void> {
    if (!this.client) return;
    try {
      await this.client.unsubscribe([stream]);
      this.streams.delete(stream);
      this.render();
    } catch (error) {
      this.error.textContent = `Could not unsubscribe from ${stream}: ${errorText(error)}`;
    }
  }

  private render(): void {
    this.chips.replaceChildren(
      ...[...this.streams].sort().map((stream) => {
        const remove = h(
          'button',
          { type: 'button', class: 'link', 'aria-label': `Unsubscribe from ${stream}` },
          '✕',
        );
        remove.addEventListener('click', () => void this.unsubscribe(stream));
        return h('li', {}, stream, remove);
      }),
    );
  }
}
