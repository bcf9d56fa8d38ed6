import { type Member, replicaOf } from './members';
import { Publisher } from './publisher';
import { waitFor } from './waits';

// The delivery checks every scenario ends with: nothing lost, each once, in order.

export interface DeliveryReport {
  /** Everything that breaks a guarantee, one line each; empty when all hold. */
  problems: string[];
  /** Messages per room that every member of it has (from the reference member). */
  perRoom: Record<string, number>;
  /** Bodies (counters) stored twice under different ids: a publisher retry without a key. */
  duplicateBodies: number;
  /** Messages a member got that no reply acknowledged (stored, but the reply was lost). */
  unacknowledged: number;
}

/**
 * Checks what each member handed its application against what the publisher got acknowledged,
 * per room:
 * - every acknowledged message (by id) is there exactly once, and so is the room's marker, last;
 * - seqs strictly increase (the order of the room's history);
 * - every counter 1..count of the room is there; repeated counters are allowed only without a key
 *   and only for messages the publisher repeated after an uncertain failure;
 * - every member of a room has the very same sequence of ids;
 * - no `recovered: false` for a room.
 */
export function checkDelivery(members: readonly Member[], publisher: Publisher): DeliveryReport {
  const problems: string[] = [];
  const perRoom: Record<string, number> = {};
  let duplicateBodies = 0;
  let unacknowledged = 0;
  const { rooms, idempotent, tag } = publisher.options;
  const count = publisher.total;
  for (const [roomIndex, room] of rooms.entries()) {
    const expected = [...publisher.acks.values()].filter((a) => a.room === room);
    const expectedCounters = new Set<number>();
    for (let n = roomIndex + 1; n <= count; n += rooms.length) expectedCounters.add(n);
    const marker = publisher.markers.get(room);
    let reference: { member: string; ids: string[] } | undefined;
    for (const member of members.filter((m) => m.rooms.includes(room))) {
      const say = (what: string): void => {
        if (problems.length < 50) problems.push(`${member.name} in ${room}: ${what}`);
      };
      const mine = member.messages.filter(
        (m) => m.room === room && (m.body as { p?: string }).p === tag,
      );
      const ids = mine.map((m) => m.id);
      const seen = new Set<string>();
      const repeated = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
      if (repeated.length > 0) say(`${repeated.length} ids delivered twice, e.g. ${repeated[0]}`);
      for (let i = 1; i < mine.length; i++) {
        if (mine[i]!.seq <= mine[i - 1]!.seq) {
          say(`out of order: seq ${mine[i]!.seq} after ${mine[i - 1]!.seq} (index ${i})`);
          break;
        }
      }
      const missing = expected.filter((a) => !seen.has(a.id));
      if (missing.length > 0) {
        say(
          `${missing.length} acknowledged messages missing, e.g. n=${missing[0]!.n} seq ${missing[0]!.seq}`,
        );
      }
      if (!marker || mine.at(-1)?.id !== marker.id) say('the end marker is not the last message');
      const counters = new Map<number, number>();
      for (const m of mine) {
        const n = (m.body as { n?: number }).n;
        if (typeof n === 'number') counters.set(n, (counters.get(n) ?? 0) + 1);
      }
      const absent = [...expectedCounters].filter((n) => !counters.has(n));
      if (absent.length > 0) say(`${absent.length} counters never arrived, e.g. ${absent[0]}`);
      const twice = [...counters].filter(([, c]) => c > 1).map(([n]) => n);
      const unexplained = twice.filter((n) => idempotent || !publisher.uncertain.has(n));
      if (unexplained.length > 0) {
        say(
          `${unexplained.length} counters stored more than once ${idempotent ? 'despite the key' : 'without a failed attempt'}, e.g. ${unexplained[0]}`,
        );
      }
      const ackedIds = new Set(expected.map((a) => a.id));
      if (marker) ackedIds.add(marker.id);
      const extra = ids.filter((id) => !ackedIds.has(id)).length;
      if (idempotent && extra > 0) say(`${extra} messages whose id no reply acknowledged`);
      if (member.notRecovered.length > 0) {
        say(`recovered: false ${JSON.stringify(member.notRecovered)}`);
      }
      if (!reference) {
        reference = { member: member.name, ids };
        perRoom[room] = ids.length;
        duplicateBodies += twice.length;
        unacknowledged += extra;
      } else if (
        ids.length !== reference.ids.length ||
        ids.some((id, i) => id !== reference!.ids[i])
      ) {
        say(
          `has ${ids.length} messages, ${reference.member} ${reference.ids.length}, or another order`,
        );
      }
    }
  }
  return { problems, perRoom, duplicateBodies, unacknowledged };
}

/** Resolves once every member has the marker of each of its rooms (the publisher's `finish`). */
export async function waitForMarkers(
  members: readonly Member[],
  publisher: Publisher,
  timeoutMs: number,
): Promise<number> {
  const markerIds = new Set([...publisher.markers.values()].map((a) => a.id));
  const lacking = (): Member[] =>
    members.filter((m) =>
      m.rooms.some((room) => {
        const marker = publisher.markers.get(room);
        return !marker || !m.ids.has(marker.id);
      }),
    );
  return waitFor(
    `every member to have the end marker of its rooms (${markerIds.size} markers)`,
    () => lacking().length === 0,
    timeoutMs,
    () => {
      const late = lacking();
      const first = late[0];
      return (
        `${late.length} lack one; e.g. ${first?.name} (state ${first?.client.state}, on ` +
        `${first && replicaOf(first)}, ${first?.messages.length} messages, errors ` +
        `${JSON.stringify(Object.fromEntries(first?.errors ?? []))})`
      );
    },
  );
}
