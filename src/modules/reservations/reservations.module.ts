import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module.js';
import { Avatar } from './avatar.entity.js';
import { GoodsType } from './goods-type.entity.js';
import { GoodsTypesController } from './goods-types.controller.js';
import { GoodsController } from './goods.controller.js';
import { LocationsController } from './locations.controller.js';
import { ReservationRequestsController } from './reservation-requests.controller.js';
import { StockController } from './stock.controller.js';
import { Goods } from './goods.entity.js';
import { GoodsService } from './goods.service.js';
import { Location } from './location.entity.js';
import { OrderReservationHandler } from './order-reservation.handler.js';
import { PurposeTypes } from './purpose-types.js';
import { RequestItem } from './request-item.entity.js';
import { ReservationRequest } from './reservation-request.entity.js';
import { ReservationRequestsService } from './reservation-requests.service.js';
import { Reservation } from './reservation.entity.js';
import { ReserverService } from './reserver.service.js';

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
    GoodsService,
    ReservationRequestsService,
    ReserverService,
    PurposeTypes,
    OrderReservationHandler,
  ],
  exports: [GoodsService, ReservationRequestsService, ReserverService, PurposeTypes],
})
export class ReservationsModule {}
