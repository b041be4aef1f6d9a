import { crc32c, crc16, crc32be, crc32cZeros } from './crc.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches the standard check value 0xE3069283 for "123456789" with ~0 in and out', () => {
    expect((~crc32c(0xffffffff, ascii('123456789'))) >>> 0).toBe(0xe3069283);
  });
  it('slicing gives the same result as byte-at-a-time for every length and offset', () => {
    const data = new Uint8Array(300).map((_, i) => (i * 37 + 11) & 0xff);
    for (let s = 0; s < 9; s++) {
      for (let e = s; e < 300; e += 13) {
        let slow = 0x12345678;
        for (let i = s; i < e; i++) slow = crc32c(slow, data.subarray(i, i + 1));
        expect(crc32c(0x12345678, data, s, e)).toBe(slow);
      }
    }
  });
  it('crc32cZeros equals crc32c over a zero buffer', () => {
    expect(crc32cZeros(0xdeadbeef, 37)).toBe(crc32c(0xdeadbeef, new Uint8Array(37)));
  });
});

describe('crc16', () => {
  it('matches CRC-16/ARC check value 0xBB3D for "123456789" from 0', () => {
    expect(crc16(0, ascii('123456789'))).toBe(0xbb3d);
  });
  it('matches CRC-16/MODBUS check value 0x4B37 from 0xFFFF', () => {
    expect(crc16(0xffff, ascii('123456789'))).toBe(0x4b37);
  });
});

describe('crc32be', () => {
  it('matches CRC-32/MPEG-2 check value 0x0376E6E7 from ~0 (no final xor)', () => {
    expect(crc32be(0xffffffff, ascii('123456789'))).toBe(0x0376e6e7);
  });
});
