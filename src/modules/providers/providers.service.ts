import { Injectable } from '@nestjs/common';
import { ConnectionError } from './connection.error.js';
import { ProviderRegistry } from './provider.registry.js';
import type { RegisteredProvider } from './provider.registry.js';

/** The providers this process knows, for clients that render a connection form from each. */
@Injectable()
export class ProvidersService {
  constructor(private readonly registry: ProviderRegistry) {}

  list(): RegisteredProvider[] {
    return this.registry.all();
  }

  find(key: string): RegisteredProvider | undefined {
    return this.registry.find(key);
  }

  get(key: string): RegisteredProvider {
    const provider = this.registry.find(key);
    if (!provider) throw new ConnectionError('PROVIDER_NOT_FOUND', `no provider has the key ${key}`);
    return provider;
  }
}
