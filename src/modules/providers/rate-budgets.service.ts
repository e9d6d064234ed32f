import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppConfig } from '../../config/app-config.js';
import { DEFERRED_CODE } from '../jobs/jobs.contract.js';
import type { Connection } from './connection.entity.js';
import { ProviderError } from './http/provider-error.js';
import type { RateLimit } from './provider.decorator.js';
import { MAX_RATE_WINDOW_MS } from './config-schemas.js';

/** What a budget needs of a connection: the key it is kept under, its name for messages, its override. */
export type BudgetOwner = Pick<Connection, 'id' | 'name' | 'config'>;

/**
 * One rate budget per connection, drawn on by every partner call made for it (pushes, polls,
 * syncs alike). Without `REDIS_URL` the budget lives in this process, which is then the only one
 * calling partners; with it, in Redis, so every process draws on the same budget.
 *
 * A budget of `requests` per `perMs` is `requests` slots, each a key of rate-limiter-flexible
 * holding one call for a window from when it was made. A call takes the first free slot; when
 * none is free it is refused. So any `perMs`, wherever it starts, holds at most `requests` calls,
 * which is what a partner counting a sliding window wants (a single counter per fixed window
 * would let up to twice that through where two windows meet). Finding a free slot costs up to
 * `requests` store round trips, so budgets larger than `MAX_SLOTS` are one counter per fixed
 * window instead: one round trip a call, and up to twice the rate where two windows meet.
 */
@Injectable()
export class RateBudgets implements OnApplicationShutdown {
  private readonly logger = new Logger(RateBudgets.name);
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly redisUrl: string | undefined;
  /** Under the installation's Redis prefix, so budgets of installations sharing a Redis stay apart. */
  private readonly keyPrefix: string;
  private redis: Redis | undefined;

  constructor(config: AppConfig) {
    this.redisUrl = config.redisUrl;
    this.keyPrefix = `${config.jobs.redisPrefix}:rate`;
  }

  /**
   * Takes one call from the connection's budget: its own `config.rateLimit`, else `fallback` (its
   * provider's default), else nothing to take. When the budget is spent it throws a DEFERRED
   * ProviderError with the wait until the call may go (the job engine puts the job back for that
   * long without spending an attempt); when the budget cannot be read, a TEMPORARY one.
   */
  async take(connection: BudgetOwner, fallback: RateLimit | undefined): Promise<void> {
    const limit = overrideOf(connection.config) ?? fallback;
    if (!limit) return;
    const limiter = this.limiter(limit);
    try {
      let frees = await takeAny(limiter, connection.id, limit);
      // A slot about to free is waited for here: a deferred job coming back on its turn finds the
      // call before it a few ms late to free its slot, and deferring it again would cost it an
      // attempt and its place in line (the line starts afresh each window).
      const soonest = frees && Math.min(...frees);
      if (soonest && soonest <= SHORT_WAIT_MS) {
        await new Promise((resolve) => setTimeout(resolve, soonest));
        frees = await takeAny(limiter, connection.id, limit);
      }
      if (!frees) return;
      if (limit.requests > MAX_SLOTS) throw spent(connection, limit, frees[0]);
      // Refused: a refusal counts in the line, so refused calls come back one window's worth at a time.
      const line = await limiter.penalty(`${connection.id}:line`);
      throw spent(connection, limit, waitInLine(frees, line.consumedPoints - 1, windowSeconds(limit) * 1000));
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw new ProviderError(
        'TEMPORARY',
        `the rate budget of connection ${connection.name} could not be read: ${String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Counts one inbound webhook against the connection's inbound limit (a counter per fixed window,
   * shared across processes with Redis): 0 when it may go in, else the ms until it may.
   */
  async takeInbound(connection: Pick<Connection, 'id'>, limit: RateLimit): Promise<number> {
    const id = `inbound:${limit.requests}/${limit.perMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const options = {
        points: limit.requests,
        duration: windowSeconds(limit),
        keyPrefix: `${this.keyPrefix}:${id}`,
      };
      limiter = this.redisUrl
        ? new RateLimiterRedis({ ...options, storeClient: this.redisClient(this.redisUrl) })
        : new RateLimiterMemory(options);
      this.limiters.set(id, limiter);
    }
    return takeSlot(limiter, connection.id);
  }

  /** Closed after the workers have drained (beforeApplicationShutdown), since their jobs still take from budgets. */
  async onApplicationShutdown(): Promise<void> {
    const redis = this.redis;
    this.redis = undefined;
    if (!redis) return;
    try {
      await redis.quit();
    } catch (error) {
      this.logger.warn(`closing the rate budgets' Redis connection failed: ${String(error)}`);
      redis.disconnect();
    }
  }

  /** One limiter per distinct limit; every slot of every connection with that limit is a key in it. */
  private limiter(limit: RateLimit): RateLimiterAbstract {
    const id = `${limit.requests}/${limit.perMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const points = limit.requests > MAX_SLOTS ? limit.requests : 1;
      const options = { points, duration: windowSeconds(limit), keyPrefix: `${this.keyPrefix}:${id}` };
      limiter = this.redisUrl
        ? new RateLimiterRedis({ ...options, storeClient: this.redisClient(this.redisUrl) })
        : new RateLimiterMemory(options);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private redisClient(url: string): Redis {
    // Connects on the first call; a call made while Redis is away fails after a couple of
    // reconnection tries, so the job is retried instead of waiting on it.
    this.redis ??= new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    return this.redis;
  }
}

/** Budgets up to this many calls a window are kept as slots (exact); larger ones as a counter. */
const MAX_SLOTS = 20;
/** A call that would wait at most this long for a slot waits in the job instead of deferring it. */
const SHORT_WAIT_MS = 100;

function spent(connection: BudgetOwner, limit: RateLimit, waitMs: number): ProviderError {
  return new ProviderError(
    DEFERRED_CODE,
    `connection ${connection.name} has spent its rate budget of ${limit.requests} per ${limit.perMs} ms; trying again in ${waitMs} ms`,
    { retryAfterMs: waitMs },
  );
}

/**
 * Whether `value` is a rate limit: `{ requests, perMs }`, both whole numbers of 1 or more, the
 * window no longer than a timer can wait.
 */
export function isRateLimit(value: unknown): value is RateLimit {
  if (typeof value !== 'object' || value === null) return false;
  const { requests, perMs } = value as Partial<Record<keyof RateLimit, unknown>>;
  return isCount(requests) && isCount(perMs) && perMs <= MAX_RATE_WINDOW_MS;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** A connection's own limit, when its config has one (its provider's schema allows it). */
function overrideOf(config: Record<string, unknown>): RateLimit | undefined {
  const { rateLimit } = config;
  return isRateLimit(rateLimit) ? { requests: rateLimit.requests, perMs: rateLimit.perMs } : undefined;
}

/**
 * The window in rate-limiter-flexible's unit, seconds, rounded up to a whole number of them.
 * Fractions would not be sound: RateLimiterRedis sets its key's expiry with `Math.floor(ms / 1000)`
 * whole seconds, so 1500 ms would run as a 1 s window (more calls than allowed) and anything under
 * 1000 ms as a key that never expires (the connection blocked for good), while RateLimiterMemory
 * would honour the fraction. Rounding up gives both stores one behaviour and a window at least
 * `perMs` long, so no more than `requests` calls go in any `perMs`; a limit that is not whole
 * seconds is kept a little under its rate (10 per 1500 ms runs as 10 per 2 s).
 */
export function windowSeconds(limit: RateLimit): number {
  return Math.ceil(limit.perMs / 1000);
}

/**
 * Takes a call from the budget: null when taken, else the ms until each slot frees (one number for
 * a budget kept as a counter).
 */
async function takeAny(limiter: RateLimiterAbstract, id: string, limit: RateLimit): Promise<number[] | null> {
  if (limit.requests > MAX_SLOTS) {
    const free = await takeSlot(limiter, id);
    return free === 0 ? null : [free];
  }
  const frees: number[] = [];
  for (let slot = 0; slot < limit.requests; slot++) {
    const free = await takeSlot(limiter, `${id}:${slot}`);
    if (free === 0) return null;
    frees.push(free);
  }
  return frees;
}

/**
 * Takes the slot if it is free: 0 then, else the ms until it is. A refused try counts on the slot
 * but leaves its expiry alone (in both stores), so the slot frees a window after the call it holds.
 */
async function takeSlot(limiter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (error) {
    if (error instanceof RateLimiterRes) return Math.max(1, error.msBeforeNext);
    throw error;
  }
}

/**
 * How long the refused call at `place` in line (from 0) waits: the first `frees.length` refused
 * take the slots in the order they free, the next as many a window after those, and so on,
 * instead of all coming back at once when the first slot frees.
 */
export function waitInLine(frees: number[], place: number, windowMs: number): number {
  const order = [...frees].sort((a, b) => a - b);
  const at = Math.max(0, place);
  return order[at % order.length] + Math.floor(at / order.length) * windowMs;
}
