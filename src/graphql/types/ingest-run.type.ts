import { Field, Float, ID, ObjectType } from 'type-graphql';

/** One ingest run (an export window or an imported file). */
@ObjectType('IngestRun', {
  simpleResolvers: true,
  description: 'One ingest run: an Audit Query API export window or an imported file.',
})
export class IngestRunType {
  @Field(() => ID, { description: 'Run id.' })
  id!: string;

  @Field({ description: 'backfill, follow or import.' })
  kind!: string;

  @Field({ description: 'Where the records came from (an export job or a file name).' })
  source!: string;

  @Field(() => Date, { nullable: true, description: 'Start of the exported window (inclusive).' })
  windowFrom!: Date | null;

  @Field(() => Date, { nullable: true, description: 'End of the exported window (exclusive).' })
  windowTo!: Date | null;

  @Field(() => String, { nullable: true, description: 'DPoD export job id.' })
  exportJobId!: string | null;

  @Field({ description: 'running, succeeded or failed.' })
  state!: string;

  @Field(() => Float, { description: 'Records read.' })
  recordsRead!: number;

  @Field(() => Float, { description: 'Events stored for the first time.' })
  inserted!: number;

  @Field(() => Float, { description: 'Records already stored (re-ingested), skipped.' })
  duplicates!: number;

  @Field(() => Float, {
    description:
      'Of the duplicates, those recognised by the digest of their text without being parsed (docs/ingest.md).',
  })
  recognized!: number;

  @Field(() => Float, { description: 'Lines that could not become events (kept in rejected records).' })
  rejected!: number;

  @Field(() => Float, { description: 'Events stored with a malformed meta (kept raw and flagged).' })
  malformedMeta!: number;

  @Field(() => Float, { description: 'Bytes read.' })
  bytesRead!: number;

  @Field(() => Date, { description: 'When the run started.' })
  startedAt!: Date;

  @Field(() => Date, { description: 'Last sign of life of the run.' })
  heartbeatAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the run ended; null while running.' })
  finishedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the run failed.' })
  error!: string | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'Run duration in milliseconds (a Float: runs may last past the 32-bit Int, about 24.8 days); null while running.',
  })
  durationMs!: number | null;
}
