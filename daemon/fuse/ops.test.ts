// Self-check of the opcode table: every opcode in abi.ts has exactly one row with a decoder,
// FORGET-like rows never reply, and every named method exists on the FuseFs interface shape.

import { Op } from './abi.js';
import { decoders } from './decode.js';
import { opTable } from './ops.js';

describe('opcode table', () => {
  test('every opcode has a row and a decoder', () => {
    for (const [name, op] of Object.entries(Op)) {
      const row = opTable.get(op);
      expect(row?.name).toBe(name);
      expect(typeof row?.decode).toBe('function');
      expect((decoders as Record<string, unknown>)[name]).toBe(row?.decode);
      expect(row!.session || typeof row!.run === 'function').toBe(true);
    }
    expect(opTable.size).toBe(Object.keys(Op).length);
  });

  test('no-reply rows are exactly FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY', () => {
    const noReply = [...opTable.values()].filter((r) => r.noReply).map((r) => r.name).sort();
    expect(noReply).toEqual(['BATCH_FORGET', 'FORGET', 'INTERRUPT', 'NOTIFY_REPLY']);
  });

  test('rows whose args point into the request buffer are marked', () => {
    const held = [...opTable.values()].filter((r) => r.holdsBuffer).map((r) => r.name).sort();
    expect(held).toEqual(['IOCTL', 'NOTIFY_REPLY', 'SETXATTR', 'WRITE']);
  });

  test('minimum minors are monotone with the protocol history', () => {
    expect(opTable.get(Op.READDIRPLUS)!.minMinor).toBe(21);
    expect(opTable.get(Op.STATX)!.minMinor).toBe(39);
    expect(opTable.get(Op.COPY_FILE_RANGE_64)!.minMinor).toBe(45);
  });
});

describe('public surface', () => {
  test('index.ts exposes the session, errors and ABI constants', async () => {
    const F = await import('./index.js');
    expect(typeof F.FuseSession).toBe('function');
    expect(F.errno.ENOENT).toBe(2);
    expect(F.Op.LOOKUP).toBe(1);
    expect(new F.FsErrno(13).errno).toBe(13);
  });
});
