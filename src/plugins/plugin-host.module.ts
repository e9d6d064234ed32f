import { Global, Module } from '@nestjs/common';
import { ProvidersModule } from '../modules/providers/providers.module.js';

/**
 * What a plug-in's classes may inject without importing any of Junction's modules (the SDK does
 * not export them): the partner HTTP client, through the providers module's exports. Global, and
 * added only when plug-ins are loaded.
 */
@Global()
@Module({ imports: [ProvidersModule], exports: [ProvidersModule] })
export class PluginHostModule {}
