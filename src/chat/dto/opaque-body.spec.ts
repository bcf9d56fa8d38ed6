import type { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe } from '@app/ws';
import { PushNotificationDto } from '../../notifications/dto/push-notification.dto';
import { ChatDirectDto } from './chat-direct.dto';
import { ChatSendDto } from './chat-send.dto';

const TRICKY =
  '{"__proto__":{"polluted":true},"constructor":{"prototype":1},"toString":"x","n":[{"__proto__":2}]}';

describe('opaque bodies and payloads', () => {
  const sut = createValidationPipe();
  const run = (metatype: ArgumentMetadata['metatype'], envelope: string) =>
    sut.transform(JSON.parse(envelope), { type: 'body', metatype }) as Promise<
      Record<string, unknown>
    >;

  it.each([
    [ChatSendDto, `{"room":"r","body":${TRICKY}}`, 'body'],
    [ChatDirectDto, `{"to":"bob","body":${TRICKY}}`, 'body'],
    [PushNotificationDto, `{"stream":"public.x","payload":${TRICKY}}`, 'payload'],
    [PushNotificationDto, `{"stream":"public.x","payload":[${TRICKY}]}`, 'payload'],
  ])('%p keeps its %s exactly as sent', async (dto, envelope, field) => {
    const result = await run(dto, envelope);
    expect(result).toBeInstanceOf(dto);
    expect(JSON.stringify(result[field])).toBe(JSON.stringify(JSON.parse(envelope)[field]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps them on the full pipe’s path too (not only on the compiled check’s)', async () => {
    const envelope = `{"room":"r","body":${TRICKY}}`;
    const result = (await sut.transform(JSON.parse(envelope), {
      type: 'query', // not a body: no compiled check, the pipe itself
      metatype: ChatSendDto,
    })) as Record<string, unknown>;
    expect(result).toBeInstanceOf(ChatSendDto);
    expect(JSON.stringify(result.body)).toBe(TRICKY);
  });

  it('still validates the envelope', async () => {
    await expect(run(ChatSendDto, `{"room":"r","body":${TRICKY},"extra":1}`)).rejects.toThrow(
      /extra/,
    );
    await expect(run(ChatSendDto, '{"room":"r","body":[1]}')).rejects.toThrow(/body/);
  });
});
