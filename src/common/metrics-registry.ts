import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';

/**
 * This application's Prometheus registry, which every module's metrics register in (one per app,
 * so two apps in one test process do not collide). Figures read from the database at scrape time
 * register a refresh that runs before each render.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly refreshes: (() => Promise<void>)[] = [];

  onScrape(refresh: () => Promise<void>): void {
    this.refreshes.push(refresh);
  }

  async render(): Promise<string> {
    for (const refresh of this.refreshes) await refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
