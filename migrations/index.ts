import type { Migration } from 'kysely';
import * as m20261125_0001 from './20261125_0001_audit_store';
import * as m20261125_0003 from './20261125_0003_audit_rollups_daily';
import * as m20261125_0004 from './20261125_0004_identifier_collation';
import * as m20261125_0005 from './20261125_0005_time_first_event_key';
import * as m20261125_0006 from './20261125_0006_audit_rollups_daily_tenant';
import * as m20261206_0007 from './20261206_0007_rejected_record_identity';
import * as m20261206_0008 from './20261206_0008_integrity_seals';
import * as m20261207_0009 from './20261207_0009_event_leaf';
import * as m20261207_0010 from './20261207_0010_audit_rollups_daily_client';
import * as m20261207_0011 from './20261207_0011_findings';
import * as m20261207_0012 from './20261207_0012_webhook_deliveries';
import * as m20261207_0013 from './20261207_0013_audit_address_rollups';
import * as m20261207_0014 from './20261207_0014_login_pin_index';
import * as m20261207_0015 from './20261207_0015_event_line_digest';

/** Every migration, by name, in order. Names are date-prefixed and never change once shipped. */
export const migrations: Record<string, Migration> = {
  '20261125_0001_audit_store': m20261125_0001,
  '20261125_0003_audit_rollups_daily': m20261125_0003,
  '20261125_0004_identifier_collation': m20261125_0004,
  '20261125_0005_time_first_event_key': m20261125_0005,
  '20261125_0006_audit_rollups_daily_tenant': m20261125_0006,
  '20261206_0007_rejected_record_identity': m20261206_0007,
  '20261206_0008_integrity_seals': m20261206_0008,
  '20261207_0009_event_leaf': m20261207_0009,
  '20261207_0010_audit_rollups_daily_client': m20261207_0010,
  '20261207_0011_findings': m20261207_0011,
  '20261207_0012_webhook_deliveries': m20261207_0012,
  '20261207_0013_audit_address_rollups': m20261207_0013,
  '20261207_0014_login_pin_index': m20261207_0014,
  '20261207_0015_event_line_digest': m20261207_0015,
};
