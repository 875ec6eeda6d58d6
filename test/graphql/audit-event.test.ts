import pg from 'pg';
import { microsToDate } from '../../src/graphql/audit/audit-event';

const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date;

describe('microsToDate', () => {
  it('gives the Date pg parses from the same timestamptz text', () => {
    const base = Date.UTC(2026, 10, 19, 23, 30, 13) * 1000;
    for (const frac of [0, 1, 999, 1000, 1001, 570000, 853412, 999000, 999999]) {
      const us = String(base + frac);
      const text = `2026-11-19 23:30:13${frac === 0 ? '' : `.${String(frac).padStart(6, '0').replace(/0+$/, '')}`}+00`;
      expect(microsToDate(us).toISOString()).toBe(parseTimestamptz(text).toISOString());
    }
  });

  it('reads times below one millisecond after the epoch as the epoch', () => {
    expect(microsToDate('999').getTime()).toBe(0);
    expect(microsToDate('1000').getTime()).toBe(1);
  });
});
