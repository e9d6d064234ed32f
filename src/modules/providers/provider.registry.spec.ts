import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { startServiceModule } from '../../../test/support/service-module.js';
import { Provider } from './provider.decorator.js';
import type { ProviderMetadata } from './provider.decorator.js';
import { ProviderRegistry } from './provider.registry.js';

const base: ProviderMetadata = {
  key: 'acme',
  title: 'Acme',
  kinds: ['rest'],
  configSchema: { type: 'object', required: ['region'], properties: { region: { enum: ['eu', 'us'] } } },
  credentialTypes: ['bearer'],
  capabilities: ['actions'],
};

@Injectable()
@Provider(base)
class AcmeProvider {}

@Injectable()
@Provider({ ...base, title: 'Acme again' })
class AcmeAgainProvider {}

@Injectable()
@Provider({ ...base, key: 'broken', configSchema: { type: 'nonsense' } })
class BrokenSchemaProvider {}

@Injectable()
@Provider({ ...base, key: 'broken-project', projectSettingsSchema: { type: 'nonsense' } })
class BrokenProjectSchemaProvider {}

@Injectable()
@Provider({ ...base, key: 'too-fast', rateLimit: { requests: 0, perMs: 1000 } })
class NoRequestsProvider {}

@Injectable()
@Provider({ ...base, key: 'deaf', capabilities: ['webhooks'] })
class WebhooksWithoutVerifierProvider {}

@Injectable()
@Provider({ ...base, key: 'half-disk', capabilities: ['storage'] })
class StorageWithoutUsageProvider {
  put = () => Promise.resolve();
  get = () => Promise.resolve(null);
  delete = () => Promise.resolve();
  list = () => Promise.resolve([]);
}

// Plain JavaScript can call the decorator without metadata, or without a key; TypeScript would refuse.
@Injectable()
@Provider(undefined as unknown as ProviderMetadata)
class NoMetadataProvider {}

@Injectable()
@Provider({ ...base, key: undefined } as unknown as ProviderMetadata)
class NoKeyProvider {}

function boot(...providers: (new () => object)[]) {
  return startServiceModule({ imports: [DiscoveryModule], providers: [ProviderRegistry, ...providers] });
}

describe('ProviderRegistry', () => {
  it('finds providers at boot and checks connection config against their schema', async () => {
    const s = await boot(AcmeProvider);
    try {
      const acme = s.module.get(ProviderRegistry).find('acme')!;
      expect(acme.metadata.title).toBe('Acme');
      expect(acme.validateConfig({ region: 'eu' })).toEqual([]);
      expect(acme.validateConfig({ region: 'mars' })).toEqual([
        { path: '/config/region', message: 'must be equal to one of the allowed values: ["eu","us"]' },
      ]);
    } finally {
      await s.close();
    }
  });

  it('stops the boot when two providers declare one key, naming both', async () => {
    await expect(boot(AcmeProvider, AcmeAgainProvider)).rejects.toThrow(
      'provider key "acme" is declared twice: by AcmeProvider and AcmeAgainProvider',
    );
  });

  it('stops the boot when a default rate limit is not whole numbers of 1 or more', async () => {
    await expect(boot(NoRequestsProvider)).rejects.toThrow(
      'NoRequestsProvider: its rateLimit must be { requests, perMs }, both whole numbers of 1 or more',
    );
  });

  it('stops the boot when a config schema does not compile', async () => {
    await expect(boot(BrokenSchemaProvider)).rejects.toThrow(
      'BrokenSchemaProvider: its configSchema does not compile',
    );
    await expect(boot(BrokenProjectSchemaProvider)).rejects.toThrow(
      'BrokenProjectSchemaProvider: its projectSettingsSchema does not compile',
    );
  });

  it('stops the boot when a provider claims the webhooks capability without verifyWebhook()', async () => {
    await expect(boot(WebhooksWithoutVerifierProvider)).rejects.toThrow(
      'WebhooksWithoutVerifierProvider: a provider has the webhooks capability if and only if it has verifyWebhook()',
    );
  });

  it('stops the boot when a provider claims the storage capability without all five storage methods', async () => {
    await expect(boot(StorageWithoutUsageProvider)).rejects.toThrow(
      'StorageWithoutUsageProvider: a provider has the storage capability if and only if it has put(), get(), delete(), list() and usage()',
    );
  });

  it('stops the boot when a class is marked @Provider() without metadata, naming it', async () => {
    await expect(boot(NoMetadataProvider)).rejects.toThrow(
      'NoMetadataProvider: @Provider() was given no metadata',
    );
  });

  it('stops the boot when a provider has no key, naming it', async () => {
    await expect(boot(NoKeyProvider)).rejects.toThrow('NoKeyProvider: its key must be a string');
  });
});
