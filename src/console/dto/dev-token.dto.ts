import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Length } from 'class-validator';
import { Scope } from '../../auth';

export class DevTokenDto {
  @ApiProperty({ example: 'alice' })
  @IsString()
  @Length(1, 64)
  userId!: string;

  @ApiPropertyOptional({
    example: ['notifications:publish'],
    description: 'Scopes for a service token',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @IsIn(Object.values(Scope), { each: true })
  scopes?: string[];
}
