import { CloseCode } from '@app/protocol';

export { CloseCode };

export interface CloseAction {
  /**
   * Give up: the token was refused and there is no `getToken` to get another, or the server ended
   * the session on purpose (4003).
   */
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
    case CloseCode.Disconnected:
      return { ...action, stop: true };
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
