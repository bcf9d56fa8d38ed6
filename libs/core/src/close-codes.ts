/** The WebSocket close codes of the contract, for the server and the SDK alike. */
export const CloseCode = {
  Normal: 1000,
  /** No close frame: the network, or the server dropped a silent client. */
  Abnormal: 1006,
  /** The client broke a limit (rate, connections per user). */
  PolicyViolation: 1008,
  /** The client broke a limit (frame size); `ws` sends it itself past `maxPayload`. */
  MessageTooBig: 1009,
  /** The replica is draining: reconnect now, anywhere. */
  ServiceRestart: 1012,
  /** Too slow or overloaded: reconnect after a back-off. */
  TryAgainLater: 1013,
  /** The token was refused or expired: get a new one first. */
  Unauthorized: 4001,
  /** The server ended the session on purpose (a service asked): do not reconnect. */
  Disconnected: 4003,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
