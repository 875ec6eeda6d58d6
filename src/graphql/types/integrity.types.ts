import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ServiceType } from './service.type';

/** The state of one sealed (service, hour). */
export enum IntegrityStatus {
  SEALED = 'SEALED',
  OPEN = 'OPEN',
  MISMATCH = 'MISMATCH',
  EXPIRED = 'EXPIRED',
}
registerEnumType(IntegrityStatus, {
  name: 'IntegrityStatus',
  description: "A period's state against its seal (docs/integrity.md).",
  valuesConfig: {
    SEALED: { description: 'The stored events recompute to the seal.' },
    OPEN: { description: 'The hour is not closed yet: not sealed, not checked.' },
    MISMATCH: { description: 'The stored events no longer match the seal, or a closed hour holds unsealed events.' },
    EXPIRED: { description: 'Retention dropped the events; the seal stays so the chain verifies.' },
  },
});

/** Which periods `integrity` checks. */
@InputType('IntegrityFilter', { description: 'Which sealed periods to check; every condition given must hold.' })
export class IntegrityFilterInput {
  @Field(() => Date, { nullable: true, description: 'Hours ending after this instant (default: 24 hours ago).' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Hours starting before this instant (default: now).' })
  to?: Date | null;

  @Field(() => [ID], { nullable: true, description: 'DPoD service ids (default: every service the caller may read).' })
  serviceIds?: string[] | null;
}

@ObjectType('IntegrityPeriod', { simpleResolvers: true, description: 'One service hour and its seal.' })
export class IntegrityPeriodType {
  @Field(() => Date, { description: 'Start of the hour (UTC).' })
  start!: Date;

  @Field(() => ServiceType, { description: 'The service whose events the seal covers.' })
  service!: { id: string };

  @Field(() => Int, { description: 'Events the seal covers (for an unsealed period: events stored).' })
  eventCount!: number;

  @Field(() => String, { nullable: true, description: 'Merkle root (hex) of the sealed events; null when unsealed.' })
  root!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the seal was made.' })
  sealedAt!: Date | null;

  @Field(() => Int, { description: 'Version of the seal (late records seal new versions); 0 when unsealed.' })
  version!: number;

  @Field(() => IntegrityStatus, { description: 'How the period stands against its seal.' })
  status!: IntegrityStatus;

  @Field(() => Int, { description: 'For a mismatch: sealed events no longer stored.' })
  missing!: number;

  @Field(() => Int, { description: 'For a mismatch: stored events the seal does not hold.' })
  added!: number;

  @Field(() => Int, { description: 'For a mismatch: events stored differently than sealed.' })
  changed!: number;

  @Field(() => String, { nullable: true, description: 'Why the period does not verify, in words.' })
  problem!: string | null;
}

@ObjectType('IntegrityKey', { simpleResolvers: true, description: 'The public half of the sealing key.' })
export class IntegrityKeyType {
  @Field({ description: 'Ed25519 public key, SPKI PEM.' })
  pem!: string;

  @Field({ description: "SHA-256 (hex) of the key's SPKI DER encoding." })
  fingerprint!: string;
}

@ObjectType('IntegrityReport', { simpleResolvers: true, description: 'The stored events checked against their seals.' })
export class IntegrityReportType {
  @Field({ description: 'True when every period and every seal in range verifies.' })
  verified!: boolean;

  @Field(() => [IntegrityPeriodType], { description: 'The periods in range, oldest first.' })
  periods!: IntegrityPeriodType[];

  @Field(() => IntegrityPeriodType, { nullable: true, description: 'The oldest period that does not verify.' })
  firstMismatch!: IntegrityPeriodType | null;

  @Field(() => [String], { description: 'Altered seals, broken links and bad signatures, in words.' })
  chainProblems!: string[];

  @Field(() => IntegrityKeyType, {
    nullable: true,
    description: 'The key seals are signed with (null: seals are chained but unsigned).',
  })
  publicKey!: IntegrityKeyType | null;
}

@ObjectType('InclusionProofStep', { simpleResolvers: true, description: 'One sibling on the path to the root.' })
export class InclusionProofStepType {
  @Field({ description: 'left: hash(sibling || node); right: hash(node || sibling) (RFC 6962 inner nodes).' })
  side!: string;

  @Field({ description: 'The sibling hash (hex).' })
  hash!: string;
}

@ObjectType('InclusionProof', {
  simpleResolvers: true,
  description: "The Merkle path from an event's leaf to its period's sealed root (docs/integrity.md).",
})
export class InclusionProofType {
  @Field(() => Date, { description: 'Start of the sealed hour.' })
  periodStart!: Date;

  @Field(() => Int, { description: 'Version of the seal the proof leads to (the latest).' })
  version!: number;

  @Field({ description: 'The sealed root (hex).' })
  root!: string;

  @Field({ description: "The seal's hash (hex): what the signature signs." })
  sealHash!: string;

  @Field(() => String, { nullable: true, description: 'Ed25519 signature of the seal hash (base64), or null.' })
  signature!: string | null;

  @Field({ description: "SHA-256(0x00 || the event's canonical leaf text), hex." })
  leafHash!: string;

  @Field(() => Int, { description: "The leaf's place in the period (0-based)." })
  leafIndex!: number;

  @Field(() => Int, { description: 'Leaves in the period.' })
  leafCount!: number;

  @Field(() => [InclusionProofStepType], { description: 'Siblings from the leaf up to the root.' })
  steps!: InclusionProofStepType[];
}
