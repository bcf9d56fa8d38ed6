/**
 * Room patterns (`ROOMS_OPEN`, the token claim `rooms`): a room name, or a prefix followed by `*`
 * that matches any suffix (`doc:*`; `*` alone matches every room).
 */
const ROOM_PATTERN = /^[A-Za-z0-9._:-]{0,128}\*$|^[A-Za-z0-9._:-]{1,128}$/;

export function isRoomPattern(pattern: string): boolean {
  return ROOM_PATTERN.test(pattern);
}

export function matchesRoom(pattern: string, room: string): boolean {
  return pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : pattern === room;
}

export function matchesAnyRoom(patterns: readonly string[], room: string): boolean {
  return patterns.some((pattern) => matchesRoom(pattern, room));
}
