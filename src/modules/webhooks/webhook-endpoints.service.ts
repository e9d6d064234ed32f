import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import type { ResealCounts } from '../../common/crypto/reseal-passes.js';
import { SecretBox } from '../../common/crypto/secret-box.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { compileEventPattern } from '../events/events.contract.js';
import type { RateLimit } from '../providers/providers.contract.js';
import { WebhookDeliveryJobs } from './webhook-delivery-jobs.service.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';
import { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { WebhookError } from './webhook.error.js';
import { checkFilter, WebhookFanOut } from './webhook-fan-out.service.js';
import { newSigningSecret, previousSecrets, validSecrets } from './webhook-signature.js';
import type { SigningSecret } from './webhook-signature.js';

/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_MS = 24 * 3_600_000;
/**
 * Rotated-out secrets kept signing at most: each adds a signature to every delivery, so past this
 * many rotations within 24 hours the oldest stops signing early.
 */
export const MAX_PREVIOUS_SECRETS = 10;

/** What an endpoint is made of, as an admin gives it. */
export interface EndpointSpec {
  url: string;
  eventPatterns: string[];
  filter: Record<string, unknown> | null;
  description: string | null;
  headers: Record<string, string>;
  rateLimit: RateLimit | null;
  ordered: boolean;
  enabled: boolean;
}

/** An endpoint as the API shows it: no secret, and header names without their values. */
export interface EndpointRecord extends Omit<EndpointSpec, 'headers'> {
  id: string;
  headerNames: string[];
  disabledReason: string | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface EndpointSecrets {
  secret: string;
  /** The secret rotated out last, while it still signs. */
  previous: { secret: string; expiresAt: string } | null;
  /** Every rotated-out secret that still signs, newest first. */
  previousSecrets: { secret: string; expiresAt: string }[];
}

/** Headers Junction sets itself: an endpoint's own headers may not replace them. */
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
]);
/** Headers the HTTP client refuses to send: with one of them, no delivery would leave Junction. */
const UNSENDABLE_HEADERS = new Set(['expect', 'keep-alive', 'upgrade']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]{1,100}$/i;
/** What HTTP carries in a header value besides tab and visible ASCII: Latin-1 bytes, nothing wider. */
// eslint-disable-next-line no-control-regex
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;
const MAX_HEADERS = 20;

/** An endpoint's secrets and headers as `opened` last opened them, and the sealed values they came from. */
interface OpenedEndpoint {
  secretsSealed: string;
  headersSealed: string | null;
  secrets: SigningSecret[];
  headers: Readonly<Record<string, string>>;
}

/** Webhook endpoints: their settings, their sealed secrets and headers. */
@Injectable()
export class WebhookEndpointsService {
  private readonly openedById = new Map<string, OpenedEndpoint>();

  constructor(
    private readonly store: WebhookEndpointStore,
    private readonly deliveries: WebhookDeliveryStore,
    private readonly deliveryJobs: WebhookDeliveryJobs,
    private readonly fanOut: WebhookFanOut,
    private readonly box: SecretBox,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  /** Creates an endpoint; the answer carries its secret, shown again only by `secrets`. */
  async create(spec: EndpointSpec): Promise<{ endpoint: EndpointRecord; secret: string }> {
    this.check(spec);
    const now = this.clock.now();
    const secret = newSigningSecret();
    const row = Object.assign(new WebhookEndpoint(), {
      id: newId(),
      url: spec.url,
      description: spec.description,
      eventPatterns: spec.eventPatterns,
      filter: spec.filter,
      headersSealed: this.sealHeaders(spec.headers),
      rateLimit: spec.rateLimit,
      ordered: spec.ordered,
      enabled: spec.enabled,
      disabledReason: null,
      secretsSealed: this.sealSecrets([{ secret }]),
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    } satisfies WebhookEndpoint);
    await this.serializer.transaction((manager) => this.store.save(manager, row));
    this.fanOut.invalidate();
    return { endpoint: this.toRecord(row), secret };
  }

  async update(id: string, changes: Partial<EndpointSpec>): Promise<EndpointRecord> {
    const row = await this.serializer.transaction(async (manager) => {
      const found = await this.mustFind(id, manager);
      const spec = { ...this.specOf(found), ...changes };
      this.check(spec);
      const reenabled = spec.enabled && !found.enabled;
      Object.assign(found, {
        url: spec.url,
        description: spec.description,
        eventPatterns: spec.eventPatterns,
        filter: spec.filter,
        headersSealed: changes.headers === undefined ? found.headersSealed : this.sealHeaders(spec.headers),
        rateLimit: spec.rateLimit,
        ordered: spec.ordered,
        enabled: spec.enabled,
        // Enabled again by a person: the outage that disabled it starts over.
        disabledReason: spec.enabled ? null : found.disabledReason,
        failingSince: reenabled ? null : found.failingSince,
        updatedAt: this.clock.now(),
      });
      await this.store.save(manager, found);
      return found;
    });
    this.fanOut.invalidate();
    return this.toRecord(row);
  }

  /** Deletes an endpoint with its deliveries, and cancels the jobs that would still send them. */
  async remove(id: string): Promise<void> {
    if (!isUUID(id)) throw notFound(id);
    const pending = await this.serializer.transaction(async (manager) => {
      const pendingBefore = await this.deliveries.pendingOf(manager, id);
      return (await this.store.delete(manager, id)) ? pendingBefore : null;
    });
    if (!pending) throw notFound(id);
    this.openedById.delete(id);
    this.fanOut.invalidate();
    await this.deliveryJobs.cancel(pending);
  }

  async get(id: string): Promise<EndpointRecord> {
    return this.toRecord(await this.mustFind(id));
  }

  async list(page: PageQueryDto): Promise<Page<EndpointRecord>> {
    const found = await this.store.page(page);
    return { items: found.items.map((row) => this.toRecord(row)), nextCursor: found.nextCursor };
  }

  async secrets(id: string): Promise<EndpointSecrets> {
    const secrets = this.openSecrets(await this.mustFind(id));
    return this.describeSecrets(secrets);
  }

  /**
   * A new secret signs from now on; the current one keeps signing beside it for 24 hours, and so do
   * those rotated out before it until their own 24 hours end (at most `MAX_PREVIOUS_SECRETS`).
   */
  async rotateSecret(id: string): Promise<EndpointSecrets> {
    const secrets = await this.serializer.transaction(async (manager) => {
      const row = await this.mustFind(id, manager);
      const now = this.clock.now();
      const opened = this.openSecrets(row);
      const current = opened.find((s) => s.expiresAt === undefined)!;
      const next: SigningSecret[] = [
        { secret: newSigningSecret() },
        ...[
          { secret: current.secret, expiresAt: new Date(now.getTime() + PREVIOUS_SECRET_MS).toISOString() },
          ...previousSecrets(opened, now),
        ].slice(0, MAX_PREVIOUS_SECRETS),
      ];
      row.secretsSealed = this.sealSecrets(next);
      row.updatedAt = now;
      await this.store.save(manager, row);
      return next;
    });
    return this.describeSecrets(secrets);
  }

  /**
   * Key rotation: seals every endpoint's secrets and headers again with the current key, so
   * `JUNCTION_SECRET_KEY_PREVIOUS` can go. Counts those sealed again and those already current,
   * and names those whose values open with neither key: they are passed over, so one does not
   * keep the others on the old key. One pass; `resealInPasses` repeats it.
   */
  async resealAll(onPage?: (done: number) => Promise<void>): Promise<ResealCounts> {
    const counts: ResealCounts = { resealed: 0, current: 0, unopenable: [] };
    let cursor: string | undefined;
    do {
      const page = await this.store.page({ limit: 200, cursor });
      for (const row of page.items) {
        const outcome = await this.reseal(row);
        if (outcome === 'unopenable') counts.unopenable.push(row.id);
        else counts[outcome]++;
      }
      cursor = page.nextCursor ?? undefined;
      await onPage?.(counts.resealed + counts.current + counts.unopenable.length);
    } while (cursor);
    return counts;
  }

  private async reseal(row: WebhookEndpoint): Promise<'resealed' | 'current' | 'unopenable'> {
    const was = { secretsSealed: row.secretsSealed, headersSealed: row.headersSealed };
    const again = (sealed: string) =>
      this.box.sealedWithCurrentKey(sealed) ? sealed : this.box.seal(this.box.open(sealed));
    let now: typeof was;
    try {
      if (
        [was.secretsSealed, was.headersSealed].every(
          (sealed) => sealed === null || this.box.sealedWithCurrentKey(sealed),
        )
      )
        return 'current';
      now = {
        secretsSealed: again(was.secretsSealed),
        headersSealed: was.headersSealed === null ? null : again(was.headersSealed),
      };
    } catch {
      return 'unopenable';
    }
    // Changed meanwhile (rotated, edited): that change sealed it, and the next pass looks again.
    const replaced = await this.serializer.transaction((m) => this.store.replaceSealed(m, row.id, was, now));
    return replaced ? 'resealed' : 'current';
  }

  /**
   * The secrets that sign a request made now, and the endpoint's headers, opened. Every delivery
   * asks, and opening a sealed value costs more than the rest of signing: what was opened is kept
   * per endpoint for as long as the sealed values read with the endpoint stay the same, so a
   * rotation or a change of headers, made in any process, is opened afresh.
   */
  opened(endpoint: WebhookEndpoint): { secrets: string[]; headers: Readonly<Record<string, string>> } {
    let kept = this.openedById.get(endpoint.id);
    if (kept?.secretsSealed !== endpoint.secretsSealed || kept.headersSealed !== endpoint.headersSealed) {
      kept = {
        secretsSealed: endpoint.secretsSealed,
        headersSealed: endpoint.headersSealed,
        secrets: this.openSecrets(endpoint),
        headers: Object.freeze(
          endpoint.headersSealed
            ? (JSON.parse(this.box.open(endpoint.headersSealed)) as Record<string, string>)
            : {},
        ),
      };
      this.openedById.set(endpoint.id, kept);
    }
    return { secrets: validSecrets(kept.secrets, this.clock.now()), headers: kept.headers };
  }

  private describeSecrets(secrets: SigningSecret[]): EndpointSecrets {
    const current = secrets.find((s) => s.expiresAt === undefined)!;
    const previous = previousSecrets(secrets, this.clock.now());
    return { secret: current.secret, previous: previous[0] ?? null, previousSecrets: previous };
  }

  private openSecrets(row: WebhookEndpoint): SigningSecret[] {
    return JSON.parse(this.box.open(row.secretsSealed)) as SigningSecret[];
  }

  private sealSecrets(secrets: SigningSecret[]): string {
    return this.box.seal(JSON.stringify(secrets));
  }

  private sealHeaders(headers: Record<string, string>): string | null {
    return Object.keys(headers).length === 0 ? null : this.box.seal(JSON.stringify(headers));
  }

  private async mustFind(
    id: string,
    manager?: Parameters<WebhookEndpointStore['find']>[1],
  ): Promise<WebhookEndpoint> {
    const row = isUUID(id) ? await this.store.find(id, manager) : null;
    if (!row) throw notFound(id);
    return row;
  }

  private specOf(row: WebhookEndpoint): EndpointSpec {
    return {
      url: row.url,
      eventPatterns: row.eventPatterns,
      filter: row.filter,
      description: row.description,
      headers: row.headersSealed
        ? (JSON.parse(this.box.open(row.headersSealed)) as Record<string, string>)
        : {},
      rateLimit: row.rateLimit,
      ordered: row.ordered,
      enabled: row.enabled,
    };
  }

  private toRecord(row: WebhookEndpoint): EndpointRecord {
    const { headers, ...spec } = this.specOf(row);
    return {
      id: row.id,
      ...spec,
      headerNames: Object.keys(headers),
      disabledReason: row.disabledReason,
      failingSince: row.failingSince,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  /** Refuses an endpoint that could not work, naming each field that is wrong. */
  private check(spec: EndpointSpec): void {
    const problems: { field: string; problems: string[] }[] = [];
    const add = (field: string, found: string[]) => {
      if (found.length > 0) problems.push({ field, problems: found });
    };
    add('url', urlProblems(spec.url));
    add(
      'eventPatterns',
      spec.eventPatterns.length === 0
        ? ['at least one pattern, such as "order.*"']
        : spec.eventPatterns.flatMap((p) =>
            compileEventPattern(p)
              ? []
              : [`"${p}" is not a pattern: dot-separated names, * for one segment, ** for one or more`],
          ),
    );
    if (spec.filter !== null) {
      try {
        checkFilter(spec.filter);
      } catch (error) {
        add('filter', [(error as Error).message]);
      }
    }
    add('headers', headerProblems(spec.headers));
    if (problems.length > 0) {
      throw new WebhookError(
        'INVALID_ENDPOINT',
        `the endpoint cannot work: ${problems.map((p) => p.field).join(', ')} ${problems.length === 1 ? 'is' : 'are'} wrong`,
        problems,
      );
    }
  }
}

function urlProblems(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return ['not a URL'];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return [`only http and https, not ${url.protocol}`];
  if (url.username || url.password) return ['credentials belong in headers, not in the URL'];
  return [];
}

function headerProblems(headers: Record<string, string>): string[] {
  const entries = Object.entries(headers);
  const problems: string[] = [];
  if (entries.length > MAX_HEADERS) problems.push(`at most ${MAX_HEADERS} headers`);
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) problems.push(`"${name}" is not a header name`);
    else if (RESERVED_HEADERS.has(name.toLowerCase())) problems.push(`${name} is set by Junction`);
    else if (UNSENDABLE_HEADERS.has(name.toLowerCase()))
      problems.push(`${name} cannot be sent with a webhook`);
    // eslint-disable-next-line no-control-regex
    if (typeof value !== 'string' || /[\u0000-\u001f\u007f]/.test(value) || value.length > 4000)
      problems.push(`the value of ${name} must be text on one line, at most 4000 characters`);
    else if (BEYOND_LATIN1.test(value))
      problems.push(`the value of ${name} may hold only ASCII and Latin-1 characters, as HTTP headers carry`);
  }
  return problems;
}

function notFound(id: string): WebhookError {
  return new WebhookError('ENDPOINT_NOT_FOUND', `no webhook endpoint ${id}`);
}
