import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module.js';
import { AvatarTimelineService } from './avatar-timeline.service.js';
import { Avatar } from './avatar.entity.js';
import { AvatarStore } from './avatar.store.js';
import { CatalogueService } from './catalogue.service.js';
import { CatalogueStore } from './catalogue.store.js';
import { GoodsType } from './goods-type.entity.js';
import { GoodsTypesController } from './goods-types.controller.js';
import { GoodsController } from './goods.controller.js';
import { Goods } from './goods.entity.js';
import { GoodsService } from './goods.service.js';
import { GoodsStore } from './goods.store.js';
import { Location } from './location.entity.js';
import { LocationsController } from './locations.controller.js';
import { OrderReservationHandler } from './order-reservation.handler.js';
import { PurposeTypes } from './purpose-types.service.js';
import { RequestItem } from './request-item.entity.js';
import { ReservationRequest } from './reservation-request.entity.js';
import { ReservationRequestStore } from './reservation-request.store.js';
import { ReservationRequestsController } from './reservation-requests.controller.js';
import { ReservationRequestsService } from './reservation-requests.service.js';
import { Reservation } from './reservation.entity.js';
import { ReserverService } from './reserver.service.js';
import { ReserverStore } from './reserver.store.js';
import { StockController } from './stock.controller.js';
import { SupplyVersionStore } from './supply-version.store.js';
import { SupplyService } from './supply.service.js';

/** Goods over time (types, locations, goods, avatars), reservation requests and the in-order reserver. */
@Module({
  imports: [
    TypeOrmModule.forFeature([
      GoodsType,
      Location,
      Goods,
      Avatar,
      ReservationRequest,
      RequestItem,
      Reservation,
    ]),
    EventsModule,
  ],
  controllers: [
    GoodsTypesController,
    LocationsController,
    GoodsController,
    StockController,
    ReservationRequestsController,
  ],
  providers: [
    CatalogueStore,
    GoodsStore,
    AvatarStore,
    ReservationRequestStore,
    ReserverStore,
    SupplyVersionStore,
    CatalogueService,
    GoodsService,
    AvatarTimelineService,
    SupplyService,
    ReservationRequestsService,
    ReserverService,
    PurposeTypes,
    OrderReservationHandler,
  ],
  exports: [
    CatalogueService,
    GoodsService,
    AvatarTimelineService,
    SupplyService,
    ReservationRequestsService,
    ReserverService,
    PurposeTypes,
  ],
})
export class ReservationsModule {}
