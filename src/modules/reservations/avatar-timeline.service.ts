import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AvatarStore } from './avatar.store.js';
import { GoodsStore } from './goods.store.js';
import type { AvatarView, NewAvatar } from './reservations.contract.js';

/**
 * Where each object is over time, as operations plan and execute changes to it: planning gives
 * the input avatar an end and adds future outcomes, executing makes the input past and the
 * outcomes present, cancelling undoes the plan. Each change keeps the goods' `in_stock` flag true.
 */
@Injectable()
export class AvatarTimelineService {
  constructor(
    private readonly avatars: AvatarStore,
    private readonly goods: GoodsStore,
  ) {}

  /** Future (or present) avatars, each the outcome of an operation or entered as is. */
  addAvatars(manager: EntityManager, avatars: NewAvatar[]): Promise<AvatarView[]> {
    return this.avatars.insert(manager, avatars);
  }

  avatar(id: string, manager?: EntityManager): Promise<AvatarView | null> {
    return this.avatars.byId(id, manager);
  }

  /** Those of these avatars that are present: the operations consuming them can run. */
  presentAmong(avatarIds: string[], manager?: EntityManager): Promise<Set<string>> {
    return this.avatars.inState(avatarIds, 'present', manager);
  }

  /**
   * The object's latest avatar, the one the next operation on it takes as input: present or future,
   * with no end yet. Null when it has left or is leaving.
   */
  tipOf(goodsId: string, manager?: EntityManager): Promise<AvatarView | null> {
    return this.avatars.tipOf(goodsId, manager);
  }

  outcomesOf(operationIds: string[], manager?: EntityManager): Promise<AvatarView[]> {
    return this.avatars.outcomesOf(operationIds, manager);
  }

  /** A planned operation takes the avatar away at `at`. */
  async endAvatar(manager: EntityManager, avatar: AvatarView, at: Date): Promise<void> {
    await this.avatars.update(manager, avatar.id, { dtUntil: at });
    await this.goods.refreshInStock(manager, [avatar.goodsId]);
  }

  /** The operation that was to take the avatar away is cancelled. */
  async reopenAvatar(manager: EntityManager, avatarId: string): Promise<void> {
    const avatar = await this.avatars.byIdOrFail(avatarId, manager);
    await this.avatars.update(manager, avatarId, { dtUntil: null });
    await this.goods.refreshInStock(manager, [avatar.goodsId]);
  }

  /**
   * An operation is executed at `at`: its input avatar becomes past (ending then) and its
   * outcomes present (starting then). Goods left without a tip are out of stock.
   */
  async realize(
    manager: EntityManager,
    inputAvatarId: string | null,
    operationId: string,
    at: Date,
  ): Promise<void> {
    const goodsIds = new Set<string>();
    if (inputAvatarId !== null) {
      const input = await this.avatars.byIdOrFail(inputAvatarId, manager);
      await this.avatars.update(manager, input.id, {
        state: 'past',
        dtUntil: at < input.dtFrom ? input.dtFrom : at,
      });
      goodsIds.add(input.goodsId);
    }
    for (const outcome of await this.avatars.outcomesOf([operationId], manager)) {
      // Executed late, the avatar still ends when its next operation is planned, if that is later.
      const dtUntil = outcome.dtUntil && outcome.dtUntil < at ? at : outcome.dtUntil;
      await this.avatars.update(manager, outcome.id, { state: 'present', dtFrom: at, dtUntil });
      goodsIds.add(outcome.goodsId);
    }
    await this.goods.refreshInStock(manager, [...goodsIds]);
  }

  /** A cancelled operation's outcomes never happen: they are deleted, and goods left without a tip are out of stock. */
  async dropOutcomes(manager: EntityManager, operationId: string): Promise<void> {
    const outcomes = await this.avatars.outcomesOf([operationId], manager);
    if (outcomes.length === 0) return;
    await this.avatars.delete(
      manager,
      outcomes.map((a) => a.id),
    );
    await this.goods.refreshInStock(manager, [...new Set(outcomes.map((a) => a.goodsId))]);
  }
}
