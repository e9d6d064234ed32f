import { Injectable } from '@nestjs/common';

/** Plain text for the operator on stdout, beside the JSON logs; a class so tests can capture it. */
@Injectable()
export class Console {
  print(text: string): void {
    process.stdout.write(text);
  }
}
