import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module.js';
import { EventsModule } from '../events/events.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { AmqpConsumers } from './amqp/amqp-consumers.service.js';
import { AmqpLinks } from './amqp/amqp-links.service.js';
import { AmqpPublishHandler } from './amqp/amqp-publish.handler.js';
import { AmqpMetrics } from './amqp/amqp.metrics.js';
import { AmqpProvider } from './amqp/amqp.provider.js';
import { CloudflareDnsProvider } from './cloudflare-dns/cloudflare-dns.provider.js';
import { ConnectionCache } from './connection-cache.js';
import { ConnectionChanges } from './connection-changes.service.js';
import { ConnectionSchedules } from './connection-schedules.service.js';
import { Connection } from './connection.entity.js';
import { ConnectionStore } from './connection.store.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';
import { FastlyProvider } from './fastly/fastly.provider.js';
import { GitProvider } from './git/git.provider.js';
import { GithubProvider } from './github/github.provider.js';
import { HmacProvider } from './hmac/hmac.provider.js';
import { HttpActionHandler } from './http/http-action.handler.js';
import { HttpPollHandler } from './http/http-poll.handler.js';
import { HttpProvider } from './http/http.provider.js';
import { JenkinsBuildHandler } from './jenkins/jenkins-build.handler.js';
import { JenkinsProvider } from './jenkins/jenkins.provider.js';
import { LocalProvider } from './local/local.provider.js';
import { MockCdnProvider } from './mock-cdn/mock-cdn.provider.js';
import { MockDnsProvider } from './mock-dns/mock-dns.provider.js';
import { PartnerHttpClient } from './http/partner-http.client.js';
import { OAuthStateStore } from './oauth/oauth-state.store.js';
import { OAuthController } from './oauth/oauth.controller.js';
import { OAuthService } from './oauth/oauth.service.js';
import { PartnerCallsService } from './partner-calls.service.js';
import { PollCursor } from './poll-cursor.entity.js';
import { PollCursorStore } from './poll-cursor.store.js';
import { ProviderRegistry } from './provider.registry.js';
import { ProvidersController } from './providers.controller.js';
import { ProvidersMetrics } from './providers.metrics.js';
import { ProvidersService } from './providers.service.js';
import { RateBudgets } from './rate-budgets.service.js';
import { ResealHandler } from './reseal.handler.js';
import { StorageService } from './storage/storage.service.js';
import { StandardWebhooksProvider } from './standard-webhooks/standard-webhooks.provider.js';
import { StripeProvider } from './stripe/stripe.provider.js';
import { TargetprocessProvider } from './targetprocess/targetprocess.provider.js';
import { InboundWebhooksController } from './webhooks/inbound-webhooks.controller.js';
import { InboundWebhooksService } from './webhooks/inbound-webhooks.service.js';
import { WebdavProvider } from './webdav/webdav.provider.js';

/** Providers (found at boot) and connections: accounts' instances of them, with sealed credentials. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Connection, PollCursor]),
    DiscoveryModule,
    AccountsModule,
    EventsModule,
    SchedulesModule,
  ],
  controllers: [ProvidersController, OAuthController, ConnectionsController, InboundWebhooksController],
  providers: [
    ConnectionCache,
    ConnectionStore,
    PollCursorStore,
    ConnectionSchedules,
    ConnectionChanges,
    ProviderRegistry,
    ProvidersService,
    ConnectionsService,
    ResealHandler,
    PartnerHttpClient,
    OAuthStateStore,
    OAuthService,
    PartnerCallsService,
    ProvidersMetrics,
    RateBudgets,
    HttpProvider,
    HttpActionHandler,
    HttpPollHandler,
    InboundWebhooksService,
    GithubProvider,
    GitProvider,
    StandardWebhooksProvider,
    StripeProvider,
    HmacProvider,
    AmqpProvider,
    AmqpLinks,
    AmqpMetrics,
    AmqpPublishHandler,
    AmqpConsumers,
    LocalProvider,
    WebdavProvider,
    TargetprocessProvider,
    StorageService,
    JenkinsProvider,
    JenkinsBuildHandler,
    CloudflareDnsProvider,
    MockDnsProvider,
    FastlyProvider,
    MockCdnProvider,
  ],
  exports: [
    ProvidersService,
    ConnectionsService,
    PartnerCallsService,
    PartnerHttpClient,
    RateBudgets,
    StorageService,
  ],
})
export class ProvidersModule {}
