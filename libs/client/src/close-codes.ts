/** The close codes of the contract, and the ones every WebSocket sees. */
export const CloseCode = {
  Normal: 1000,
  /** No close frame: the network, or the server dropped a silent client. */
  Abnormal: 1006,
  /** The client broke the rate limit. */
  PolicyViolation: 1008,
  /** The client sent a frame over the size limit. */
  MessageTooBig: 1009,
  /** The replica is draining: reconnect now, elsewhere. */
  ServiceRestart: 1012,
  /** Too slow or overloaded: reconnect after a back-off. */
  TryAgainLater: 1013,
  /** The token was refused or expired: get a new one first. */
  Unauthorized: 4001,
} as const;

export interface CloseAction {
  /** Give up: the token was refused and there is no `getToken` to get another. */
  stop: boolean;
  /** Get a new token before reconnecting. */
  newToken: boolean;
  /** Move to the next URL. */
  rotate: boolean;
  /** Reconnect without waiting (otherwise: the back-off). */
  immediate: boolean;
  /** The client broke a limit: tell the application. */
  report?: 'policy_violation' | 'message_too_big';
}

/**
 * What a close asks of the client. `welcomed`: the connection got as far as `welcome` (a replica
 * refusing connections while it drains closes with 1012 before that: no reason to hurry there).
 * Any other code, 1006 included, backs off; one that never reached `welcome` tries the next URL.
 */
export function closeAction(
  code: number,
  { welcomed, canGetToken }: { welcomed: boolean; canGetToken: boolean },
): CloseAction {
  const action: CloseAction = { stop: false, newToken: false, rotate: !welcomed, immediate: false };
  switch (code) {
    case CloseCode.Unauthorized:
      return canGetToken ? { ...action, newToken: true } : { ...action, stop: true };
    case CloseCode.ServiceRestart:
      return { ...action, rotate: true, immediate: welcomed };
    case CloseCode.TryAgainLater:
      return { ...action, rotate: true };
    case CloseCode.PolicyViolation:
      return { ...action, report: 'policy_violation' };
    case CloseCode.MessageTooBig:
      return { ...action, report: 'message_too_big' };
    default:
      return action;
  }
}
