import { recoverMetaFields } from '../../src/ingest/meta-recovery';
import { normalizeRecord } from '../../src/ingest/record-normalizer';

/** The meta of DPoD's own page on Luna Cloud HSM audit logs, verbatim: a backslash is missing after ouids' value. */
const DPOD_PAGE_EXAMPLE = `{
    \\"clientip\\":\\"XX.XXX.XXX.XXX\\",
    \\"hsmid\\":\\"XXXXXX\\",
    \\"ouids\\":\\"XXXXXXXXXXXX",
    \\"partid\\":\\"XXXXXXXXXXXXX\\",
    \\"role\\":\\"CO\\"
  }`;

describe('recoverMetaFields', () => {
  it("reads the five fields of DPoD's documented example verbatim", () => {
    expect(DPOD_PAGE_EXAMPLE).toContain('\\"ouids\\":\\"XXXXXXXXXXXX",');
    expect(() => JSON.parse(DPOD_PAGE_EXAMPLE) as unknown).toThrow();
    expect(recoverMetaFields(DPOD_PAGE_EXAMPLE)).toEqual({
      clientip: 'XX.XXX.XXX.XXX',
      hsmid: 'XXXXXX',
      ouids: 'XXXXXXXXXXXX',
      partid: 'XXXXXXXXXXXXX',
      role: 'CO',
    });
  });

  const whole = { clientip: '10.0.0.1', hsmid: '567782', ouids: '2d00000012ab', partid: '1334049524932', role: 'CO' };

  it.each([
    [
      'a missing closing brace',
      '{"clientip":"10.0.0.1","hsmid":"567782","ouids":"2d00000012ab","partid":"1334049524932","role":"CO"',
    ],
    [
      'stray backslashes',
      '{\\"clientip\\":\\"10.0.0.1\\",\\\\"hsmid\\\\":"567782",\\"ouids\\":\\"2d00000012ab\\",\\"partid\\":\\"1334049524932\\",\\"role\\":\\"CO\\"}',
    ],
    [
      'a missing backslash',
      '{\\"clientip\\":\\"10.0.0.1\\",\\"hsmid\\":\\"567782",\\"ouids\\":\\"2d00000012ab\\",\\"partid\\":\\"1334049524932\\",\\"role\\":\\"CO\\"}',
    ],
    [
      'single quotes',
      "{'clientip':'10.0.0.1','hsmid':'567782','ouids':'2d00000012ab','partid':'1334049524932','role':'CO'}",
    ],
    [
      'unquoted keys and a trailing comma',
      '{clientip:"10.0.0.1", hsmid:"567782", ouids:"2d00000012ab", partid:"1334049524932", role:"CO",}',
    ],
    [
      'upper-case keys',
      '{"ClientIP":"10.0.0.1","HSMID":"567782","OUIDs":"2d00000012ab","PartID":"1334049524932","Role":"CO"',
    ],
    [
      'a missing closing quote at a line end',
      '{"clientip":"10.0.0.1",\n"hsmid":"567782,\n"ouids":"2d00000012ab",\n"partid":"1334049524932",\n"role":"CO"}',
    ],
  ])('reads every field despite %s', (_name, text) => {
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(recoverMetaFields(text)).toEqual(whole);
  });

  it('keeps what a truncated text holds whole, and drops the value it ends in', () => {
    expect(recoverMetaFields('{"clientip":"10.0.0.1","hsmid":"567782","ouids":"2d00')).toEqual({
      clientip: '10.0.0.1',
      hsmid: '567782',
    });
    expect(recoverMetaFields('{"clientip":"10.0.0.1","partid":13340')).toEqual({ clientip: '10.0.0.1' });
  });

  it('reads null, bare numbers and lists', () => {
    expect(recoverMetaFields('{"ouids":null,"partid":1334049524932,"role":"CU",')).toEqual({
      ouids: null,
      partid: '1334049524932',
      role: 'CU',
    });
    expect(recoverMetaFields('{"ouids":["a1", "b2",null],"role":"CO"')).toEqual({ ouids: ['a1', 'b2'], role: 'CO' });
  });

  it('recovers nothing from text without known keys, and ignores unknown ones', () => {
    expect(recoverMetaFields('garbage')).toEqual({});
    expect(recoverMetaFields('{"note":"role is CO", "x":1')).toEqual({});
    expect(recoverMetaFields('')).toEqual({});
  });
});

describe('a malformed meta in a record', () => {
  const record = (meta: unknown) => ({
    time: '2026-11-21 13:00:00 UTC',
    source: 'thales/cloudhsm/1334049524932',
    resourceID: 'f59a597b-7b2c-4b77-9b5e-3a4e05f5e4a1',
    actorID: 'd5fa3ace-8f0a-4c1c-b4f4-6a2f7d1c9e10',
    tenantID: 'e7a5c2b1-0000-4000-8000-000000000001',
    action: 'LUNA_SIGN',
    status: 'LUNA_RET_OK',
    meta,
  });

  it('keeps the raw text and the flag, and fills the typed columns from it (an invalid address stays out of inet)', () => {
    const good = normalizeRecord(record(DPOD_PAGE_EXAMPLE.replace('XX.XXX.XXX.XXX', '10.0.0.7')));
    const masked = normalizeRecord(record(DPOD_PAGE_EXAMPLE));
    if (!good.ok || !masked.ok) throw new Error('the records were rejected');
    expect(good.fields).toMatchObject({
      clientIp: '10.0.0.7',
      hsmId: 'XXXXXX',
      objectIds: ['XXXXXXXXXXXX'],
      partitionSerial: 'XXXXXXXXXXXXX',
      role: 'CO',
      meta: null,
      metaMalformed: true,
    });
    expect(good.fields.metaRaw).toContain('\\"ouids\\":\\"XXXXXXXXXXXX",');
    expect(masked.fields).toMatchObject({ clientIp: null, role: 'CO', metaMalformed: true });
  });
});
