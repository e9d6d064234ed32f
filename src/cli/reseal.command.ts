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
      const [{ ConnectionsService }, { WebhookEndpointsService }, { resealInPasses }] = await Promise.all([
        import('../modules/providers/connections.service.js'),
        import('../modules/webhooks/webhook-endpoints.service.js'),
        import('../common/crypto/reseal-passes.js'),
      ]);
      const connections = app.get(ConnectionsService, { strict: false });
      const endpoints = app.get(WebhookEndpointsService, { strict: false });
      return {
        connections: await resealInPasses(() => connections.resealAll()),
        endpoints: await resealInPasses(() => endpoints.resealAll()),
      };
    });
    process.stdout.write(
      `connections: ${counts.connections.resealed} sealed again, ${counts.connections.current} already on the current key\n` +
        `webhook endpoints: ${counts.endpoints.resealed} sealed again, ${counts.endpoints.current} already on the current key\n`,
    );
    const { connections, endpoints } = counts;
    const unopenable = [
      ...(connections.unopenable.length > 0
        ? [
            `${connections.unopenable.length} connection(s) hold credentials that open with neither key: ${connections.unopenable.join(', ')}`,
          ]
        : []),
      ...(endpoints.unopenable.length > 0
        ? [
            `${endpoints.unopenable.length} webhook endpoint(s) hold secrets or headers that open with neither key: ${endpoints.unopenable.join(', ')}`,
          ]
        : []),
    ];
    if (unopenable.length > 0) {
      throw new CliError(
        `${unopenable.join('; ')}; so keep JUNCTION_SECRET_KEY_PREVIOUS until they are replaced`,
      );
    }
    if (connections.unsettled + endpoints.unsettled > 0) {
      throw new CliError('secrets kept changing while they were sealed again: run this again');
    }
    process.stderr.write(
      'every secret is sealed with the current key: JUNCTION_SECRET_KEY_PREVIOUS can be unset\n',
    );
  }
}
