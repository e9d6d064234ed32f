import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { Console } from '../../common/console.js';
import { AppConfig } from '../../config/app-config.js';
import { hasErrorCode } from '../../common/errors/domain-error.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AccountsService } from './accounts.service.js';
import { ApiKeysService } from './api-keys.service.js';

export const BOOTSTRAP_ADMIN_EMAIL = 'admin@junction.local';

/**
 * On the first start, with no account at all, creates an admin with one API key: the key from
 * `JUNCTION_ADMIN_KEY`, or a new one printed once on stdout. Later starts find accounts and do
 * nothing. Two processes starting together on PostgreSQL: the unique email lets only one win.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly config: AppConfig,
    private readonly serializer: WriteSerializer,
    private readonly accounts: AccountsService,
    private readonly apiKeys: ApiKeysService,
    private readonly console: Console,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    let key: string | undefined;
    try {
      key = await this.serializer.transaction(async (manager) => {
        if (!(await this.accounts.isEmpty(manager))) return undefined;
        const admin = await this.accounts.insert(manager, {
          name: 'Administrator',
          email: BOOTSTRAP_ADMIN_EMAIL,
          role: 'admin',
        });
        const created = await this.apiKeys.insert(manager, admin.id, {
          name: 'bootstrap',
          key: this.config.adminKey,
        });
        return created.key;
      });
    } catch (error) {
      // Another process started at the same time and created the first admin: nothing left to do.
      if (isUniqueViolation(error) || hasErrorCode(error, 'EMAIL_TAKEN')) return;
      throw error;
    }
    if (key === undefined) return;
    if (this.config.adminKey) {
      this.logger.log(
        `created the admin account ${BOOTSTRAP_ADMIN_EMAIL} with the key from JUNCTION_ADMIN_KEY`,
      );
      return;
    }
    this.console.print(
      [
        '',
        '================================================================================',
        ` First start: created the admin account ${BOOTSTRAP_ADMIN_EMAIL}.`,
        ' Its API key is shown this once; store it now:',
        '',
        `   ${key}`,
        '',
        ' Use it as "Authorization: Bearer <key>" or "X-API-Key: <key>", or in Swagger UI at /docs.',
        '================================================================================',
        '',
      ].join('\n'),
    );
  }
}
