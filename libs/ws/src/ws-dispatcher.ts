import type { IncomingMessage } from 'node:http';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { OnGatewayConnection, OnGatewayDisconnect } from '@nestjs/websockets';
import { AppError } from '@app/core';
import { attempt } from './attempt';
import type { Connection } from './connection';
import { directCallOf, type DirectCall } from './direct-call';
import { errorData, isPlainObject, refOf } from './frames';
import {
  ExternalContextCreator,
  GATEWAY_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PARAM_ARGS_METADATA,
  WsParamtype,
  wsArgumentsHost,
  type ParamsFactory,
} from './internals';
import { hasStandardReplyAndFilter } from './standard-gateway-handler';
import { WsErrorFilter } from './ws-error.filter';
import { WsMetrics, type Tally } from './ws-metrics';
import { encodeReply } from './ws-reply.interceptor';

/** As in Nest's own gateways: `@ConnectedSocket()` is the connection, `@MessageBody(key?)` the data. */
const WS_PARAMS: ParamsFactory = {
  exchangeKeyForValue(type: WsParamtype, key, args: [Connection, Record<string, unknown>]) {
    if (type === WsParamtype.SOCKET) return args[0];
    if (type !== WsParamtype.PAYLOAD) return undefined;
    return typeof key === 'string' ? args[1][key] : args[1];
  },
};

/**
 * The `@SubscribeMessage` handlers of every gateway, wrapped once at start-up and shared by all
 * connections. Nest's own path binds every handler to every connection (measured: ~1.8 KB per idle
 * connection for 10 handlers), so `RealtimeWsAdapter` ignores those bindings and the hub
 * dispatches here instead. Guards, pipes, interceptors and exception filters apply as before; a
 * standard handler of the common shape is called directly when a request needs nothing more
 * (direct-call.ts).
 */
@Injectable()
export class WsDispatcher implements OnApplicationBootstrap {
  private readonly logger = new Logger(WsDispatcher.name);
  private readonly handlers = new Map<string, Route>();
  private readonly connectHooks: Array<(conn: Connection, request: IncomingMessage) => unknown> =
    [];
  private readonly disconnectHooks: Array<(conn: Connection) => unknown> = [];
  /** The error filter of the fast path (it keeps no state). */
  private readonly errorFilter = new WsErrorFilter();
  /** The `reply` frames' counter, looked up once. */
  private readonly replies: Tally;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly contexts: ExternalContextCreator,
    private readonly metrics: WsMetrics,
  ) {
    this.replies = metrics.frameOut('reply');
  }

  onApplicationBootstrap(): void {
    const owners = new Map<string, string>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      const metatype = wrapper.metatype;
      if (!instance || !metatype || !Reflect.getMetadata(GATEWAY_METADATA, metatype)) continue;
      this.addLifecycleHooks(instance as Partial<OnGatewayConnection & OnGatewayDisconnect>);
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const callback = (prototype as Record<string, (...args: unknown[]) => unknown>)[method]!;
        if (!Reflect.getMetadata(MESSAGE_MAPPING_METADATA, callback)) continue;
        const event = Reflect.getMetadata(MESSAGE_METADATA, callback) as string;
        const where = `${metatype.name}.${method}`;
        const taken = owners.get(event);
        if (taken)
          throw new Error(`WebSocket event "${event}" has two handlers: ${taken} and ${where}`);
        owners.set(event, where);
        this.handlers.set(event, this.wrap(instance, metatype, callback, method));
      }
    }
  }

  /**
   * The handler with its enhancers: for a standard gateway, Nest's guards and pipes only, the
   * dispatcher doing the reply interceptor's and the error filter's work; else Nest's pipeline.
   */
  private wrap(instance: object, gateway: object, callback: object, method: string): Route {
    const standard = hasStandardReplyAndFilter(gateway, callback, this.contexts);
    const run = this.contexts.create(
      instance,
      callback as Method,
      method,
      PARAM_ARGS_METADATA,
      WS_PARAMS,
      undefined,
      undefined,
      standard ? { guards: true, interceptors: false, filters: false } : undefined,
      'ws',
    ) as EventHandler;
    const direct = standard
      ? directCallOf(instance, callback as Method, method, this.contexts)
      : undefined;
    return { run, standard, direct };
  }

  /**
   * Runs every gateway's `handleConnection(conn, request)`: their results (promises delay the
   * welcome), each failure as a rejected promise.
   */
  connected(conn: Connection, request: IncomingMessage): unknown[] {
    return this.connectHooks.map((hook) => attempt(() => hook(conn, request)));
  }

  /** Runs every gateway's `handleDisconnect(conn)`; a failure is logged. */
  disconnected(conn: Connection): void {
    for (const hook of this.disconnectHooks) {
      void Promise.resolve(attempt(() => hook(conn))).catch((err: unknown) =>
        this.logger.error({ connectionId: conn.id, err }, 'handleDisconnect failed'),
      );
    }
  }

  /** Whether some gateway handles `event` (the hub answers `unknown event` otherwise). */
  handles(event: string): boolean {
    return this.handlers.has(event);
  }

  // Nest's own path calls these per connection through per-connection closures; the adapter skips
  // that path, so the hub calls them here.
  private addLifecycleHooks(gateway: Partial<OnGatewayConnection & OnGatewayDisconnect>): void {
    const { handleConnection, handleDisconnect } = gateway;
    if (handleConnection) {
      this.connectHooks.push((conn, request) => handleConnection.call(gateway, conn, request));
    }
    if (handleDisconnect) {
      this.disconnectHooks.push((conn) => handleDisconnect.call(gateway, conn));
    }
  }

  /**
   * Runs the handler of `event` and sends the frame it yields: the `reply`, or the exception
   * filter's `error`. One promise reaction per request on the fast path.
   */
  dispatch(conn: Connection, event: string, data: unknown): void {
    const route = this.handlers.get(event);
    if (!route) return;
    conn.requestStarted();
    (route.direct?.(conn, data, event) ?? route.run(conn, data, event)).then(
      (result) => {
        conn.requestAnswered();
        if (!route.standard) return this.sendFrame(conn, result);
        if (conn.sendFrame(encodeReply(refOf(data), result))) this.replies.inc();
      },
      (error: unknown) => {
        conn.requestAnswered();
        if (route.standard) {
          return this.sendFrame(
            conn,
            this.errorFilter.catch(error, wsArgumentsHost([conn, data, event])),
          );
        }
        // No filter answered (a gateway without `@WsGateway()`): never leave a ref hanging.
        conn.send('error', errorData(new AppError('internal', 'internal error'), refOf(data)));
      },
    );
  }

  /** A frame object from Nest's pipeline or the filter, counted by its event. */
  private sendFrame(conn: Connection, frame: unknown): void {
    if (isFrame(frame) && conn.sendFrame(JSON.stringify(frame))) {
      this.metrics.frameOut(frame.event).inc();
    }
  }
}

/** A gateway method wrapped in its guards and pipes (and, unless standard, interceptors and filters). */
type EventHandler = (conn: Connection, data: unknown, event: string) => Promise<unknown>;

/** `standard`: the handler yields its plain result, which the dispatcher frames as the reply. */
interface Route {
  run: EventHandler;
  standard: boolean;
  /** The direct call of a standard handler of the common shape (direct-call.ts). */
  direct?: DirectCall;
}

type Method = (...args: unknown[]) => unknown;

function isFrame(value: unknown): value is { event: string; data: unknown } {
  return isPlainObject(value) && typeof value.event === 'string';
}
