/** Close codes of the contract: each tells the client what to do next. */
export const CloseCode = {
  /** Get a new token first. */
  Unauthorized: 4001,
  /** The replica is draining: reconnect now, anywhere. */
  ServiceRestart: 1012,
  /** Too slow or overloaded: reconnect after a back-off. */
  TryAgainLater: 1013,
  /** The client broke a limit (rate). */
  PolicyViolation: 1008,
  /** The client broke a limit (frame size); `ws` sends it itself past `maxPayload`. */
  MessageTooBig: 1009,
} as const;
