import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, Matches, ValidateBy } from 'class-validator';
import { Opaque } from '@app/ws';
import { STREAM_NAME, kindOf } from '../notifications.subjects';

/** Private streams need their recipient; public ones refuse one, so no caller thinks it addressed a user. */
function IsRecipientOfStream(): PropertyDecorator {
  return ValidateBy({
    name: 'isRecipientOfStream',
    validator: {
      validate: (value: unknown, args) => {
        const { stream } = args?.object as { stream?: unknown };
        if (typeof stream !== 'string' || kindOf(stream) === 'public') return value === undefined;
        return typeof value === 'string' && value.length >= 1 && value.length <= 256;
      },
      defaultMessage: (args) =>
        kindOf(String((args?.object as { stream?: unknown }).stream)) === 'private'
          ? 'userId (1-256 characters) is required for a private stream'
          : 'userId is only for private streams',
    },
  });
}

/** One notification: the body of `POST /notifications` and of the `notifications.push` event. */
export class PushNotificationDto {
  @ApiProperty({ example: 'public.news', description: '`public.<name>` or `private.<name>`' })
  @Matches(STREAM_NAME, {
    message: 'stream must be public.<name> or private.<name> (name: 1-128 of A-Za-z0-9._:-)',
  })
  stream!: string;

  // No example here: Swagger UI would put it into the public stream's example body (a 400).
  @ApiPropertyOptional({
    description: 'The recipient: required for a private stream, refused for a public one',
  })
  @IsRecipientOfStream()
  userId?: string;

  @ApiProperty({
    description: 'Any JSON value but null, delivered exactly as sent',
    oneOf: [
      { type: 'object', additionalProperties: true },
      { type: 'array', items: {} },
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
    ],
    example: { title: 'Order shipped', orderId: 42 },
  })
  @IsDefined({ message: 'payload is required' })
  @Opaque()
  payload!: unknown;
}
