import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ClientType } from './client.type';
import { ServiceType } from './service.type';

/** Bucket sizes of `timeline`. */
export enum TimeInterval {
  MINUTE = 'MINUTE',
  HOUR = 'HOUR',
  DAY = 'DAY',
  WEEK = 'WEEK',
  MONTH = 'MONTH',
}
registerEnumType(TimeInterval, {
  name: 'TimeInterval',
  description: 'Size of timeline buckets; buckets start on UTC boundaries.',
  valuesConfig: {
    MINUTE: { description: 'One minute (always counted from the events, never from the hourly rollups).' },
    HOUR: { description: 'One hour.' },
    DAY: { description: 'One UTC day.' },
    WEEK: { description: 'One ISO week, starting Monday 00:00 UTC.' },
    MONTH: { description: 'One calendar month (UTC).' },
  },
});

/** A key and its count. */
@ObjectType('CountBucket', { simpleResolvers: true, description: 'A value and how many events have it.' })
export class CountBucketType {
  @Field({ description: 'The value (an action, status or role; events without a role count under "(none)").' })
  key!: string;

  @Field(() => Int, { description: 'Number of events.' })
  count!: number;
}

/** A client and its count. */
@ObjectType('ClientCount', { simpleResolvers: true, description: 'A client and how many events it caused.' })
export class ClientCountType {
  @Field(() => ClientType, { description: 'The client.' })
  client!: ClientType;

  @Field(() => Int, { description: 'Number of events.' })
  count!: number;
}

/** A service and its count. */
@ObjectType('ServiceCount', { simpleResolvers: true, description: 'A service and how many events it recorded.' })
export class ServiceCountType {
  @Field(() => ServiceType, { description: 'The service.' })
  service!: ServiceType;

  @Field(() => Int, { description: 'Number of events.' })
  count!: number;
}

/** One timeline bucket. */
@ObjectType('TimeBucket', { simpleResolvers: true, description: 'Events of one time bucket.' })
export class TimeBucketType {
  @Field(() => Date, { description: 'Start of the bucket (UTC).' })
  start!: Date;

  @Field(() => Int, { description: 'Number of events in the bucket.' })
  count!: number;

  @Field(() => Int, { description: 'Number of failed events (status other than LUNA_RET_OK) in the bucket.' })
  failed!: number;
}

/** Aggregate of a filtered set of events. */
@ObjectType('AuditAggregate', {
  simpleResolvers: true,
  description:
    "Counts over every event matching the connection's filter (paging is ignored). Answered from the hourly rollups whenever the filter allows, else from the events; buckets are sorted by count descending, then key.",
})
export class AuditAggregateType {}
