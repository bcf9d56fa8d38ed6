import { BadInputLog } from '@app/ws';

/**
 * Refused NATS messages, logged at most once a minute per subject: by the deserializer (not JSON,
 * too deep) and by the event filter (refused events), one window for both.
 */
export const natsBadInput = new BadInputLog('NatsInput');
