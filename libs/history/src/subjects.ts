/** Subjects the history stream stores (`rt.<channel>`); publishers never use them directly. */
export const STORE_SUBJECTS = 'rt.>';
/** Subjects the stream republishes every stored message to; replicas subscribe to these. */
export const LIVE_SUBJECTS = 'live.>';

/** Header carrying a message's seq on the live subject. */
export const SEQ_HEADER = 'Nats-Sequence';
/** Header carrying the previous seq of the same channel (0 for none): a replica can see a gap. */
export const LAST_SEQ_HEADER = 'Nats-Last-Sequence';
/** Header naming the dedupe key a message was appended with. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** The subject a channel's messages are stored under. `channel` is already a subject-safe id. */
export function storeSubject(channel: string): string {
  return `rt.${channel}`;
}

/** The subject a channel's stored messages are relayed on, with seq headers. */
export function liveSubject(channel: string): string {
  return `live.${channel}`;
}
