import { Matches } from 'class-validator';

/**
 * Text with more than white space in it: names the services store trimmed, where `"   "` would
 * pass `@IsNotEmpty()` and be stored as `""`.
 */
export function IsNotBlank(): PropertyDecorator {
  return Matches(/\S/, { message: '$property must not be blank' });
}
