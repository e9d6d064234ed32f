import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { moduleBoundaries } from '../../eslint.boundaries.js';

/** Lints one import line as if it were the first line of `file`, with the boundary rule only. */
async function violations(file: string, importLine: string): Promise<string[]> {
  const eslint = new ESLint({
    overrideConfigFile: true,
    overrideConfig: [
      ...moduleBoundaries,
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
    ],
  });
  const [result] = await eslint.lintText(`${importLine}\nexport const x = 1;\n`, { filePath: file });
  return result.messages.map((m) => m.ruleId ?? m.message);
}

describe('the module boundary lint rule', () => {
  it.each([
    [
      'src/modules/planner/operations.service.ts',
      "import { Avatar } from '../reservations/avatar.entity.js';",
    ],
    [
      'src/modules/planner/operations.service.ts',
      "import { GoodsStore } from '../reservations/goods.store.js';",
    ],
    [
      'src/modules/events/events.service.ts',
      "import { dispatchFromRow } from '../jobs/job-ledger/claims.js';",
    ],
    ['src/modules/events/dto/event.dto.ts', "import type { Job } from '../../jobs/job.entity.js';"],
    [
      'src/modules/planner/dto/operation-requests.dto.ts',
      "import { GoodsLineDto } from '../../reservations/dto/goods-requests.dto.js';",
    ],
    [
      'src/modules/jobs/transports/bull.transport.ts',
      "import { Event } from '../../events/event.entity.js';",
    ],
  ])('fails %s importing another module internals: %s', async (file, line) => {
    expect(await violations(file, line)).toEqual(['no-restricted-imports']);
  });

  it.each([
    [
      'src/modules/planner/operations.service.ts',
      "import { GoodsService } from '../reservations/goods.service.js';",
    ],
    [
      'src/modules/planner/planner.module.ts',
      "import { ReservationsModule } from '../reservations/reservations.module.js';",
    ],
    ['src/modules/events/dto/event.dto.ts', "import { JOB_STATUSES } from '../../jobs/jobs.contract.js';"],
    ['src/modules/events/events.service.ts', "import { Event } from './event.entity.js';"],
    ['src/modules/events/dto/event.dto.ts', "import type { Event } from '../event.entity.js';"],
    ['src/modules/jobs/transports/bull.transport.ts', "import { Job } from '../job.entity.js';"],
    ['src/modules/jobs/jobs.service.ts', "import { rawSql } from '../../database/raw-sql.js';"],
    [
      'src/modules/jobs/dto/job.dto.ts',
      "import { PageDto } from '../../../common/pagination/pagination.js';",
    ],
  ])('allows %s: %s', async (file, line) => {
    expect(await violations(file, line)).toEqual([]);
  });
});
