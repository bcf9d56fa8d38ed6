/** Who is asking: a user (WebSocket or REST) or a service (REST, with scopes), from a verified token. */
export interface Principal {
  readonly id: string;
  readonly scopes: readonly string[];
  /** Room patterns the token grants (JWT claim `rooms`): `team:42`, or `doc:*` for a prefix. */
  readonly rooms?: readonly string[];
  /** Token expiry, seconds since epoch (JWT `exp`). */
  readonly expiresAt?: number;
}
