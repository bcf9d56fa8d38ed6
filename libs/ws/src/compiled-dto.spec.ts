import { Transform, Type } from 'class-transformer';
import {
  IsDefined,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { AppError } from '@app/core';
import { compiledDto } from './compiled-dto';
import { CompiledValidationPipe, createValidationPipe } from './validation';
import { IsStringOrObject } from './validators';
import { WsRequest } from './ws-request.dto';

class SendDto extends WsRequest {
  @Matches(/^[a-z]{1,8}$/) room!: string;
  @IsDefined() @IsStringOrObject() body!: unknown;
  @IsOptional() @IsString() @Length(1, 4) key?: string;
  @ValidateIf((o: SendDto) => o.room === 'count') @IsInt() count?: number;
}

class Inner {
  @IsString() name!: string;
}

class NestedDto {
  @ValidateNested() @Type(() => Inner) inner!: Inner;
}

class EachDto {
  @IsString({ each: true }) tags!: string[];
}

class TransformedDto {
  @Transform(({ value }: { value: unknown }) => String(value).trim()) @IsString() name!: string;
}

const body = (): Record<string, unknown> =>
  JSON.parse('{"__proto__":{"polluted":true},"list":[1,{"a":null}]}') as Record<string, unknown>;

describe('compiledDto', () => {
  const sut = compiledDto(SendDto)!;

  it('builds the DTO from a valid request, keeping nested values as they came', () => {
    const plain = { room: 'lobby', body: body(), ref: 7, key: 'k1' };
    const dto = sut(plain) as SendDto;
    expect(dto).toBeInstanceOf(SendDto);
    expect(dto).toMatchObject({ room: 'lobby', ref: 7, key: 'k1' });
    expect(dto.body).toBe(plain.body);
    expect(Object.keys(dto.body as object)).toEqual(['__proto__', 'list']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a failing rule', { room: 'Has Caps', body: 'x' }],
    ['a missing required field', { room: 'lobby' }],
    ['a null body', { room: 'lobby', body: null }],
    ['an array body', { room: 'lobby', body: [] }],
    ['an unknown field', { room: 'lobby', body: 'x', extra: 1 }],
    ['a top-level __proto__ key', JSON.parse('{"room":"a","body":"x","__proto__":{}}') as object],
    ['a rule past its condition', { room: 'count', body: 'x', count: 1.5 }],
    ['an array', [{ room: 'lobby', body: 'x' }]],
    ['a string', 'lobby'],
  ])('leaves %s to the pipe', (_, plain) => {
    expect(sut(plain)).toBeUndefined();
  });

  it('skips optional and conditional fields when they are absent or their condition is false', () => {
    expect(sut({ room: 'lobby', body: 'x', count: 'not checked' })).toBeInstanceOf(SendDto);
    expect(sut({ room: 'count', body: 'x', count: 2 })).toBeInstanceOf(SendDto);
  });

  it('does not compile nested or `each` rules, nor DTOs class-transformer changes', () => {
    expect(compiledDto(NestedDto)).toBeNull();
    expect(compiledDto(EachDto)).toBeNull();
    expect(compiledDto(TransformedDto)).toBeNull();
  });
});

describe(CompiledValidationPipe.name, () => {
  const pipe = createValidationPipe();
  const meta = { type: 'body' as const, metatype: SendDto };

  it('takes the compiled check for a valid body (the body is not copied)', async () => {
    const plain = { room: 'lobby', body: body() };
    const dto = (await pipe.transform(plain, meta)) as SendDto;
    expect(dto).toBeInstanceOf(SendDto);
    expect(dto.body).toBe(plain.body);
  });

  it('passes on a DTO another pipe of this configuration validated (global + gateway pipes)', async () => {
    const first = await pipe.transform({ room: 'lobby', body: 'x' }, meta);
    expect(await createValidationPipe().transform(first, meta)).toBe(first);
  });

  it('gives the pipe’s own error for an invalid body', async () => {
    const plain = { room: 'Bad Room', body: [1], key: '', extra: true };
    const error = await pipe.transform(plain, meta).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'bad_request',
      message: 'invalid fields: extra, room, body, key',
    });
  });
});
