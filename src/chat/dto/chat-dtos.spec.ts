import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { createValidationPipe } from '@app/ws';
import { AuthRefreshDto } from '../../connection/dto/auth-refresh.dto';
import { ChatDirectDto } from './chat-direct.dto';
import { ChatInboxDto } from './chat-inbox.dto';
import { ChatJoinDto } from './chat-join.dto';
import { ChatLeaveDto } from './chat-leave.dto';
import { ChatSendDto } from './chat-send.dto';

/** The fields at fault, validated as the pipe does (whitelist, forbid unknown). */
function faults<T extends object>(dto: ClassConstructor<T>, plain: object): string[] {
  const errors = validateSync(plainToInstance(dto, plain), {
    whitelist: true,
    forbidNonWhitelisted: true,
  });
  return errors.map((e) => e.property).sort();
}

describe('chat DTOs', () => {
  it.each([
    [ChatJoinDto, { room: 'lobby' }, []],
    [ChatJoinDto, { room: 'a.b:c-d_1', since: 0, epoch: 'e', ref: 1 }, []],
    [ChatJoinDto, { room: '', since: -1 }, ['room', 'since']],
    [ChatJoinDto, { room: 'x'.repeat(129) }, ['room']],
    [ChatJoinDto, { room: 'has space', since: 1.5, epoch: 3 }, ['epoch', 'room', 'since']],
    [ChatJoinDto, { room: 'ok', ref: { no: 1 } }, ['ref']],
    [ChatLeaveDto, { room: 'ok' }, []],
    [ChatLeaveDto, {}, ['room']],
    [ChatSendDto, { room: 'ok', body: 'text' }, []],
    [ChatSendDto, { room: 'ok', body: { any: ['json'] } }, []],
    [ChatSendDto, { room: 'ok', body: ['array'] }, ['body']],
    [ChatSendDto, { room: 'ok', body: null }, ['body']],
    [ChatSendDto, { room: 'ok', body: 'x', extra: 1 }, ['extra']],
    [ChatDirectDto, { to: 'bob', body: 'hi' }, []],
    [ChatDirectDto, { to: '', body: 5 }, ['body', 'to']],
    [ChatInboxDto, { since: 0 }, []],
    [ChatInboxDto, {}, []],
    [ChatInboxDto, { since: -1 }, ['since']],
    [ChatSendDto, { room: 'ok', body: 'x', key: 'order-1' }, []],
    [ChatSendDto, { room: 'ok', body: 'x', key: 'has space' }, ['key']],
    [ChatDirectDto, { to: 'bob', body: 'x', key: 'k'.repeat(129) }, ['key']],
    [AuthRefreshDto, { token: 'not a jwt' }, ['token']],
    [AuthRefreshDto, { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln' }, []],
  ] as Array<[ClassConstructor<object>, object, string[]]>)(
    '%p %j → %j',
    (dto, plain, expected) => {
      expect(faults(dto, plain)).toEqual(expected);
    },
  );
});

describe('chat DTOs on the hot path', () => {
  const pipe = createValidationPipe();

  it.each([
    [ChatSendDto, { room: 'lobby', ref: 1 }],
    [ChatDirectDto, { to: 'bob', key: 'k-1' }],
  ] as Array<[ClassConstructor<object>, object]>)(
    '%p takes the compiled check: the body is passed on as it came',
    async (dto, fields) => {
      const body = JSON.parse('{"__proto__":{"x":1},"text":"hi"}') as object;
      const plain = { ...fields, body };
      const validated = (await pipe.transform(plain, { type: 'body', metatype: dto })) as {
        body: unknown;
      };
      expect(validated).toBeInstanceOf(dto);
      expect(validated.body).toBe(body);
    },
  );
});
