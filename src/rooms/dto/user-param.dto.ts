import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/** `:userId` of `POST /users/:userId/disconnect`: a token's `sub`. */
export class UserParamDto {
  @ApiProperty({ example: 'alice', minLength: 1, maxLength: 256 })
  @IsString()
  @Length(1, 256)
  userId!: string;
}
