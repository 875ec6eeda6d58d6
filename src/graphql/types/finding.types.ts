import type { Evidence } from '../../detect/evidence';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

/** The detection rules' codes (src/detect/catalog.ts; stable: other systems match on them). */
export enum FindingRule {
  PIN_FAILURE_BURST = 'PIN_FAILURE_BURST',
  DESTRUCTIVE_OPERATION = 'DESTRUCTIVE_OPERATION',
  KEY_EXPORT_BY_NEW_CLIENT = 'KEY_EXPORT_BY_NEW_CLIENT',
  NEW_CLIENT_ADDRESS = 'NEW_CLIENT_ADDRESS',
  VOLUME_SPIKE = 'VOLUME_SPIKE',
  UNBOUND_CLIENT_ACTIVITY = 'UNBOUND_CLIENT_ACTIVITY',
}
registerEnumType(FindingRule, { name: 'FindingRule', description: 'A detection rule (docs/detection.md).' });

export enum FindingSeverity {
  LOW = 'LOW',
  MEDIUM = 'MEDIUM',
  HIGH = 'HIGH',
  CRITICAL = 'CRITICAL',
}
registerEnumType(FindingSeverity, { name: 'FindingSeverity', description: 'How urgent a finding is.' });

export enum FindingStatus {
  OPEN = 'OPEN',
  ACKNOWLEDGED = 'ACKNOWLEDGED',
}
registerEnumType(FindingStatus, {
  name: 'FindingStatus',
  description: 'OPEN until someone acknowledges it (acknowledgeFinding, scope audit:triage).',
});

/** A stored finding as the resolvers hand it on. */
export interface FindingRecord {
  id: string;
  rule: FindingRule;
  severity: FindingSeverity;
  status: FindingStatus;
  serviceId: string;
  clientId: string | null;
  subject: string | null;
  firstSeen: Date;
  lastSeen: Date;
  count: number;
  summary: string;
  raisedAt: Date;
  updatedAt: Date;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  acknowledgeNote: string | null;
  /** The predicate its evidence events match (src/detect/evidence.ts). */
  evidence: Evidence;
  /** Last seen in microseconds (the evidence range ends there, inclusive). */
  lastSeenUs: string;
  /** Keyset position: first seen in microseconds, id. */
  position: { timeUs: string; id: string };
}

@ObjectType('Finding', {
  simpleResolvers: true,
  description:
    'Something a detection rule found suspicious: one episode (a burst, a cluster, a first use) per finding.',
})
export class FindingType {
  @Field(() => ID, { description: 'Finding id.' })
  id!: string;

  @Field(() => FindingRule, { description: 'The rule that raised it.' })
  rule!: FindingRule;

  @Field(() => FindingSeverity, { description: "The rule's severity." })
  severity!: FindingSeverity;

  @Field(() => FindingStatus, { description: 'OPEN, or ACKNOWLEDGED by someone with audit:triage.' })
  status!: FindingStatus;

  @Field(() => String, {
    nullable: true,
    description:
      'What it is about within its client: the address prefix (NEW_CLIENT_ADDRESS), the action (DESTRUCTIVE_OPERATION).',
  })
  subject!: string | null;

  @Field({ description: 'Time of its first evidence event.' })
  firstSeen!: Date;

  @Field({ description: 'Time of its latest evidence event (grows while the episode goes on).' })
  lastSeen!: Date;

  @Field(() => Int, { description: 'Evidence events, counted from the store.' })
  count!: number;

  @Field({ description: 'One line saying what was seen.' })
  summary!: string;

  @Field({ description: 'When it was first stored.' })
  raisedAt!: Date;

  @Field({ description: 'When a pass last extended it (or it was acknowledged).' })
  updatedAt!: Date;

  @Field(() => String, { nullable: true, description: 'Who acknowledged it (the token subject).' })
  acknowledgedBy!: string | null;

  @Field(() => Date, { nullable: true, description: 'When it was acknowledged.' })
  acknowledgedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The note given when acknowledging it.' })
  acknowledgeNote!: string | null;
}

@ObjectType('FindingEdge', { simpleResolvers: true, description: 'A finding and its cursor.' })
export class FindingEdgeType {
  @Field({ description: 'Opaque cursor of this finding.' })
  cursor!: string;

  @Field(() => FindingType, { description: 'The finding.' })
  node!: FindingRecord;
}

/** Findings, paged (its fields: resolvers/finding-connection.resolver.ts). */
@ObjectType('FindingConnection', { simpleResolvers: true, description: 'A page of findings, newest first.' })
export class FindingConnectionType {}

@InputType('FindingFilter', {
  description: 'Which findings; every field narrows (lists: any of). The conventions of AuditEventFilter.',
})
export class FindingFilterInput {
  @Field(() => Date, { nullable: true, description: 'Findings whose firstSeen..lastSeen ends at or after this.' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Findings whose firstSeen..lastSeen begins before this.' })
  to?: Date | null;

  @Field(() => [FindingRule], { nullable: true, description: 'Raised by any of these rules.' })
  rules?: FindingRule[] | null;

  @Field(() => [FindingSeverity], { nullable: true, description: 'Of any of these severities.' })
  severities?: FindingSeverity[] | null;

  @Field(() => [ID], { nullable: true, description: "On any of these services (within the caller's)." })
  serviceIds?: string[] | null;

  @Field(() => [ID], { nullable: true, description: 'By any of these clients.' })
  clientIds?: string[] | null;

  @Field(() => FindingStatus, { nullable: true, description: 'In this status.' })
  status?: FindingStatus | null;
}

@ObjectType('LunaDetectionSetting', { simpleResolvers: true, description: 'One setting of a rule, as in force.' })
export class DetectionSettingType {
  @Field({ description: 'The environment variable.' })
  variable!: string;

  @Field({ description: 'Its value in force.' })
  value!: string;
}

@ObjectType('LunaDetectionRule', { simpleResolvers: true, description: 'A detection rule and its settings in force.' })
export class DetectionRuleType {
  @Field(() => FindingRule, { description: 'Its stable code.' })
  code!: FindingRule;

  @Field(() => FindingSeverity, { description: 'The severity of what it raises.' })
  severity!: FindingSeverity;

  @Field({ description: 'A short name.' })
  title!: string;

  @Field({ description: 'What raises it, with the settings in force.' })
  description!: string;

  @Field({ description: 'False when DETECT_RULES leaves it out.' })
  enabled!: boolean;

  @Field(() => [DetectionSettingType], { description: 'Its settings and their values in force.' })
  settings!: DetectionSettingType[];
}
