// Hand-off codec: byte-exact goldens, round trips, and every refusal kind.

import {
  decodeMessage, encodeFailed, encodeHandoff, encodeServing, HandoffError, type Handoff, type HandoffErrorKind,
} from './handoff.js';

const base: Omit<Handoff, 'type'> = {
  readOnly: true, syncInit: true, iomap: false, allowOther: false, defaultPermissions: true, fdsInherited: true,
  fuseFd: 3, imageFd: 4, uid: 1000, gid: 100, offset: 1048576n, length: 0n, iomapFlags: 0n,
  imagePath: '/i', mountpoint: '/m', options: 'errors=continue',
};

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function kindOf(b: Uint8Array): HandoffErrorKind {
  try {
    decodeMessage(b);
  } catch (e) {
    if (e instanceof HandoffError) return e.kind;
    throw e;
  }
  throw new Error('decoded');
}

test('HANDOFF golden bytes', () => {
  const b = encodeHandoff(base);
  const golden = [
    '45344258', '0100', '0100', '59000000', '00000000', // "E4BX", v1, type 1, total 89, reserved
    '33000000', // flags: READ_ONLY|SYNC_INIT|DEFAULT_PERMISSIONS|FDS_INHERITED
    '03000000', '04000000', // fuseFd 3, imageFd 4
    'e8030000', '64000000', '00000000', // uid 1000, gid 100, reserved
    '0000100000000000', // offset 1 MiB
    '0000000000000000', '0000000000000000', // length 0 (to the end), iomapFlags 0
    '0200', '2f69', '0200', '2f6d', // "/i", "/m"
    '0f00', Buffer.from('errors=continue').toString('hex'),
  ].join('');
  expect(hex(b)).toBe(golden);
  expect(b.length).toBe(89);
});

test('SERVING and FAILED golden bytes', () => {
  expect(hex(encodeServing(4242))).toBe('45344258' + '0100' + '0200' + '14000000' + '00000000' + '92100000');
  expect(hex(encodeFailed('bad\nsuper'))).toBe('45344258' + '0100' + '0300' + '1b000000' + '00000000' + '0900' + Buffer.from('bad super').toString('hex'));
});

test('round trips', () => {
  const passed = { ...base, fdsInherited: false, fuseFd: -1, imageFd: -1, iomap: true, iomapFlags: 3n, allowOther: true,
    readOnly: false, offset: 0xfffffffffffffffen, length: 12345n, imagePath: '/images/ü ñ.img', options: '' };
  expect(decodeMessage(encodeHandoff(passed))).toEqual({ type: 1, ...passed });
  expect(decodeMessage(encodeHandoff(base))).toEqual({ type: 1, ...base });
  expect(decodeMessage(encodeServing(7))).toEqual({ type: 2, pid: 7 });
  expect(decodeMessage(encodeFailed('journal replay failed'))).toEqual({ type: 3, reason: 'journal replay failed' });
});

test('version mismatch is named', () => {
  const b = encodeHandoff(base);
  b[4] = 2;
  expect(kindOf(b)).toBe('version');
  expect(() => decodeMessage(b)).toThrow('version 2, this side speaks 1');
});

test('truncated at every length', () => {
  const b = encodeHandoff(base);
  for (let n = 0; n < b.length; n++) {
    const k = kindOf(b.subarray(0, n));
    expect(k).toBe('truncated');
  }
  // A header that promises fewer bytes than arrived: trailing garbage.
  const longer = new Uint8Array(b.length + 3);
  longer.set(b);
  expect(kindOf(longer)).toBe('length');
  // Inner string length running past the end, with a matching header total.
  const lied = encodeHandoff(base);
  new DataView(lied.buffer).setUint16(64, 200, true);
  expect(kindOf(lied)).toBe('truncated');
});

test('refusals: magic, type, flags, fds, reserved, strings', () => {
  const mut = (f: (v: DataView, b: Uint8Array) => void): Uint8Array => {
    const b = encodeHandoff(base);
    f(new DataView(b.buffer), b);
    return b;
  };
  expect(kindOf(mut((_v, b) => { b[0] = 0x46; }))).toBe('magic');
  expect(kindOf(mut((v) => v.setUint16(6, 9, true)))).toBe('type');
  expect(kindOf(mut((v) => v.setUint32(16, 0x40 | 0x20, true)))).toBe('field');
  expect(kindOf(mut((v) => v.setInt32(20, -1, true)))).toBe('field'); // inherited but no fd number
  expect(kindOf(mut((v) => v.setInt32(24, -7, true)))).toBe('field');
  expect(kindOf(mut((v) => v.setUint32(12, 1, true)))).toBe('field');
  expect(kindOf(mut((v) => v.setUint32(36, 1, true)))).toBe('field');
  expect(kindOf(mut((_v, b) => { b[66] = 0xff; }))).toBe('field'); // imagePath not UTF-8
  expect(kindOf(mut((_v, b) => { b[66] = 0; }))).toBe('field'); // NUL inside a path
  expect(kindOf(new Uint8Array(20000))).toBe('length');
  // SERVING with a body of the wrong size.
  const s = new Uint8Array(24);
  s.set(encodeServing(1));
  new DataView(s.buffer).setUint32(8, 24, true);
  expect(kindOf(s)).toBe('length');
});

test('encoder refuses what the decoder would refuse', () => {
  expect(() => encodeHandoff({ ...base, uid: -1 })).toThrow(HandoffError);
  expect(() => encodeHandoff({ ...base, fuseFd: -2 })).toThrow(HandoffError);
  expect(() => encodeHandoff({ ...base, offset: -1n })).toThrow(HandoffError);
  expect(() => encodeHandoff({ ...base, imagePath: 'x'.repeat(4097) })).toThrow(/longer than 4096/);
  expect(encodeFailed('y'.repeat(10000)).length).toBeLessThan(4200);
});
