import type { ChatMessage, PresenceChange, RealtimeClient } from '@app/client';
import { append, byId, clock, errorText, h, show } from './dom';

const MAX_MESSAGES = 500;

interface Room {
  items: HTMLLIElement[];
  members: Set<string>;
  unread: number;
}

/** Joined rooms: their messages, who is in them, and the composer for the selected one. */
export class RoomsView {
  private readonly rooms = new Map<string, Room>();
  private selected?: string;
  private session?: { client: RealtimeClient; userId: string };

  private readonly tabs = byId<HTMLUListElement>('rooms');
  private readonly log = byId<HTMLOListElement>('messages');
  private readonly members = byId<HTMLUListElement>('members');
  private readonly peopleHeading = byId('people-h');
  private readonly input = byId<HTMLInputElement>('message');
  private readonly send = byId<HTMLButtonElement>('send');
  private readonly label = byId('message-label');
  private readonly error = byId('chat-error');

  constructor() {
    byId<HTMLFormElement>('join-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const field = byId<HTMLInputElement>('room');
      if (!field.reportValidity()) return;
      void this.join(field.value.trim());
    });
    byId<HTMLFormElement>('send-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.sendMessage();
    });
  }

  start(client: RealtimeClient, userId: string): void {
    this.session = { client, userId };
    this.render();
  }

  stop(): void {
    this.session = undefined;
    this.rooms.clear();
    this.selected = undefined;
    this.log.replaceChildren(h('li', { class: 'empty' }, 'Sign in and join a room to chat.'));
    this.render();
  }

  async join(name: string): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.error.textContent = '';
    try {
      await session.client.join(name);
    } catch (error) {
      this.error.textContent = `Could not join ${name}: ${errorText(error)}`;
      return;
    }
    this.room(name);
    this.select(name);
    this.system(name, `You joined #${name}.`);
    await this.refreshMembers(name);
    this.input.focus();
  }

  async leave(name: string): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      await session.client.leave(name);
    } catch (error) {
      this.error.textContent = `Could not leave ${name}: ${errorText(error)}`;
      return;
    }
    this.rooms.delete(name);
    if (this.selected === name) this.select([...this.rooms.keys()][0]);
    else this.render();
  }

  /** Asks who is in each joined room (after a join, and after a reconnect: events may be missed). */
  async refreshMembers(...names: string[]): Promise<void> {
    const session = this.session;
    if (!session) return;
    const rooms = names.length > 0 ? names : [...this.rooms.keys()];
    await Promise.all(
      rooms.map(async (name) => {
        try {
          const { users } = await session.client.query(name);
          const room = this.rooms.get(name);
          if (room) room.members = new Set(users);
        } catch {
          // Presence is best effort here; the next join or leave event corrects it.
        }
      }),
    );
    this.renderMembers();
  }

  onMessage(message: ChatMessage, missed: boolean): void {
    const own = message.from === this.session?.userId;
    const item = h(
      'li',
      { class: own ? 'msg own' : 'msg', 'data-seq': String(message.seq) },
      clock(message.ts),
      ' ',
      h('span', { class: 'from' }, own ? `${message.from} (you)` : message.from),
      ' ',
      h('span', { class: 'body' }, show(message.body)),
      missed && ' ',
      missed &&
        h('span', { class: 'tag', title: 'Delivered by the resume after a reconnect' }, 'missed'),
    );
    this.add(message.room, item);
  }

  onPresence(change: PresenceChange): void {
    const room = this.rooms.get(change.room);
    if (!room) return;
    if (change.type === 'join') room.members.add(change.userId);
    else room.members.delete(change.userId);
    this.system(change.room, `${change.userId} ${change.type === 'join' ? 'joined' : 'left'}.`);
    if (change.room === this.selected) this.renderMembers();
  }

  private system(name: string, text: string): void {
    this.add(name, h('li', { class: 'system' }, clock(Date.now()), ' ', text), false);
  }

  private add(name: string, item: HTMLLIElement, counts = true): void {
    const room = this.room(name);
    room.items.push(item);
    if (room.items.length > MAX_MESSAGES) room.items.shift();
    if (name === this.selected) append(this.log, item, MAX_MESSAGES);
    else if (counts) {
      room.unread += 1;
      this.render();
    }
  }

  private room(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = { items: [], members: new Set(), unread: 0 };
      this.rooms.set(name, room);
      this.render();
    }
    return room;
  }

  private select(name: string | undefined): void {
    this.selected = name;
    const room = name === undefined ? undefined : this.rooms.get(name);
    if (room) {
      room.unread = 0;
      this.log.replaceChildren(...room.items);
      this.log.scrollTop = this.log.scrollHeight;
    } else {
      this.log.replaceChildren(h('li', { class: 'empty' }, 'Join a room to chat.'));
    }
    this.render();
  }

  private async sendMessage(): Promise<void> {
    const session = this.session;
    const room = this.selected;
    const text = this.input.value.trim();
    if (!session || room === undefined || text === '') return;
    this.error.textContent = '';
    this.input.value = '';
    try {
      await session.client.send(room, text);
    } catch (error) {
      this.error.textContent = `Not sent to #${room}: ${errorText(error)}`;
      if (this.input.value === '') this.input.value = text;
    }
  }

  private render(): void {
    this.tabs.replaceChildren(
      ...[...this.rooms].map(([name, room]) => {
        const selected = name === this.selected;
        const tab = h(
          'button',
          { type: 'button', class: 'room', 'aria-pressed': String(selected) },
          `#${name}`,
          room.unread > 0 && ` (${room.unread} new)`,
        );
        tab.addEventListener('click', () => this.select(name));
        const leave = h(
          'button',
          { type: 'button', class: 'link', 'aria-label': `Leave ${name}` },
          'Leave',
        );
        leave.addEventListener('click', () => void this.leave(name));
        return h('li', {}, tab, leave);
      }),
    );
    const ready = this.session !== undefined && this.selected !== undefined;
    this.input.disabled = !ready;
    this.send.disabled = !ready;
    this.label.textContent = ready ? `Message to #${this.selected}` : 'Message';
    this.input.placeholder = ready ? `Message #${this.selected}` : 'Join a room first';
    this.renderMembers();
  }

  private renderMembers(): void {
    const room = this.selected === undefined ? undefined : this.rooms.get(this.selected);
    this.peopleHeading.textContent = room ? `In #${this.selected}` : 'In the room';
    const users = room ? [...room.members].sort() : [];
    this.members.replaceChildren(
      ...(users.length > 0
        ? users.map((user) =>
            h(
              'li',
              {},
              user,
              user === this.session?.userId && h('span', { class: 'muted' }, ' (you)'),
            ),
          )
        : [h('li', { class: 'muted' }, 'Nobody yet.')]),
    );
  }
}
