import { ResumeRequest } from '@app/channels';

/**
 * The inbox is live from the connection's welcome: with `since` it is resumed; without, the reply
 * only says where it stands (`seq`, `epoch`), to resume from after a later reconnect.
 */
export class ChatInboxDto extends ResumeRequest {}
