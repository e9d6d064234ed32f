import { Command, CommandRunner } from 'nest-commander';
import { readConfig, withApplication } from './application.js';
import { CliError } from './cli-error.js';

@Command({
  name: 'reseal',
  description:
    "Seal every stored secret (connections' credentials, webhook endpoints' secrets) again with JUNCTION_SECRET_KEY, during a rotation with JUNCTION_SECRET_KEY_PREVIOUS set; prints counts",
})
export class ResealCommand extends CommandRunner {
  async run(): Promise<void> {
    if (!readConfig().previousSecretKey) {
      throw new CliError(
        'JUNCTION_SECRET_KEY_PREVIOUS is not set: set it to the old key and JUNCTION_SECRET_KEY to the new one, then run this again',
      );
    }
    const counts = await withApplication(async (app) => {
      const [{ ConnectionsService }, { WebhookEndpointsService }] = await Promise.all([
        import('../modules/providers/connections.service.js'),
        import('../modules/webhooks/webhook-endpoints.service.js'),
      ]);
      return {
        connections: await app.get(ConnectionsService, { strict: false }).resealAll(),
        endpoints: await app.get(WebhookEndpointsService, { strict: false }).resealAll(),
      };
    });
    process.stdout.write(
      `connections: ${counts.connections.resealed} sealed again, ${counts.connections.current} already on the current key\n` +
        `webhook endpoints: ${counts.endpoints.resealed} sealed again, ${counts.endpoints.current} already on the current key\n`,
    );
    const { unopenable } = counts.connections;
    if (unopenable.length > 0) {
      throw new CliError(
        `${unopenable.length} connection(s) hold credentials that open with neither key, so keep ` +
          `JUNCTION_SECRET_KEY_PREVIOUS until they are replaced: ${unopenable.join(', ')}`,
      );
    }
    process.stderr.write(
      'every secret is sealed with the current key: JUNCTION_SECRET_KEY_PREVIOUS can be unset\n',
    );
  }
}
