import { Field, Int, ObjectType } from 'type-graphql';
import { AuditEventType } from './audit-event.type';
import { ClientType } from './client.type';
import { IngestRunType } from './ingest-run.type';
import { PageInfoType } from './page-info.type';
import { ServiceType } from './service.type';

/** An edge of the audit event connection. */
@ObjectType('AuditEventEdge', { simpleResolvers: true, description: 'An audit event and its cursor.' })
export class AuditEventEdgeType {
  @Field({ description: 'Opaque cursor of this event; pass it as after or before.' })
  cursor!: string;

  @Field(() => AuditEventType, { description: 'The event.' })
  node!: AuditEventType;
}

/** Audit events, paged. */
@ObjectType('AuditEventConnection', {
  simpleResolvers: true,
  description:
    'A page of audit events (Relay cursor connection, keyset-paged on time) with the count and aggregate of every matching event.',
})
export class AuditEventConnectionType {}

/** An edge of the service connection. */
@ObjectType('ServiceEdge', { simpleResolvers: true, description: 'A service and its cursor.' })
export class ServiceEdgeType {
  @Field({ description: 'Opaque cursor of this service.' })
  cursor!: string;

  @Field(() => ServiceType, { description: 'The service.' })
  node!: ServiceType;
}

/** Services, paged. */
@ObjectType('ServiceConnection', {
  simpleResolvers: true,
  description: 'A page of DPoD services (live from the DPoD platform API).',
})
export class ServiceConnectionType {
  @Field(() => [ServiceEdgeType], { description: 'The services of this page with their cursors.' })
  edges!: ServiceEdgeType[];

  @Field(() => [ServiceType], { description: 'The services of this page.' })
  nodes!: ServiceType[];

  @Field(() => PageInfoType, { description: 'Paging information.' })
  pageInfo!: PageInfoType;

  @Field(() => Int, { description: 'Number of services in the whole list.' })
  totalCount!: number;
}

/** An edge of the client connection. */
@ObjectType('ClientEdge', { simpleResolvers: true, description: 'A client and its cursor.' })
export class ClientEdgeType {
  @Field({ description: 'Opaque cursor of this client.' })
  cursor!: string;

  @Field(() => ClientType, { description: 'The client.' })
  node!: ClientType;
}

/** Clients, paged. */
@ObjectType('ClientConnection', {
  simpleResolvers: true,
  description: 'A page of the clients bound to a service (live from DPoD).',
})
export class ClientConnectionType {
  @Field(() => [ClientEdgeType], { description: 'The clients of this page with their cursors.' })
  edges!: ClientEdgeType[];

  @Field(() => [ClientType], { description: 'The clients of this page.' })
  nodes!: ClientType[];

  @Field(() => PageInfoType, { description: 'Paging information.' })
  pageInfo!: PageInfoType;

  @Field(() => Int, { description: 'Number of clients in the whole list.' })
  totalCount!: number;
}

/** An edge of the ingest run connection. */
@ObjectType('IngestRunEdge', { simpleResolvers: true, description: 'An ingest run and its cursor.' })
export class IngestRunEdgeType {
  @Field({ description: 'Opaque cursor of this run.' })
  cursor!: string;

  @Field(() => IngestRunType, { description: 'The run.' })
  node!: IngestRunType;
}

/** Ingest runs, newest first. */
@ObjectType('IngestRunConnection', { simpleResolvers: true, description: 'Ingest runs, newest first.' })
export class IngestRunConnectionType {
  @Field(() => [IngestRunEdgeType], { description: 'The runs of this page with their cursors.' })
  edges!: IngestRunEdgeType[];

  @Field(() => [IngestRunType], { description: 'The runs of this page.' })
  nodes!: IngestRunType[];

  @Field(() => PageInfoType, { description: 'Paging information.' })
  pageInfo!: PageInfoType;

  @Field(() => Int, { description: 'Number of runs in total.' })
  totalCount!: number;
}
