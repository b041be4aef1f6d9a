// Bounds-checked binary access and declarative struct schemas. Every decoder in ext4/
// (little-endian, jbd2 big-endian) and fuse/ (host order = little-endian) reads through
// here, so an out-of-range offset is always a typed error from the caller's layer
// (CorruptError, ProtocolError) and never a bare RangeError or a silent undefined.

export type IntType =
  | 'u8' | 'u16le' | 'u32le' | 'u64le' | 's16le' | 's32le' | 's64le'
  | 'u16be' | 'u32be' | 'u64be';
export type BytesType = `u8[${number}]`;
export type FieldType = IntType | BytesType;
export type FieldSpec = readonly [name: string, type: FieldType, offset: number];

type ValueOf<T> = T extends 'u64le' | 's64le' | 'u64be' ? bigint
  : T extends BytesType ? Uint8Array
  : number;

/** The raw decoded object of a schema: kernel field names to numbers/bigints/bytes. */
export type Decoded<F extends readonly FieldSpec[]> = { [K in F[number] as K[0]]: ValueOf<K[1]> };

/** Builds the error a Reader throws when a read would leave its bytes. */
export type BoundsErrorFactory = (off: number, width: number, length: number, what: string) => Error;

export class BoundsError extends Error {
  constructor(readonly off: number, readonly width: number, readonly length: number, readonly what: string) {
    super(`read of ${width} bytes at ${off} past end ${length} (${what})`);
    this.name = 'BoundsError';
  }
}

const defaultBounds: BoundsErrorFactory = (o, w, l, what) => new BoundsError(o, w, l, what);

export function widthOf(t: FieldType): number {
  switch (t) {
    case 'u8': return 1;
    case 'u16le': case 's16le': case 'u16be': return 2;
    case 'u32le': case 's32le': case 'u32be': return 4;
    case 'u64le': case 's64le': case 'u64be': return 8;
    default: {
      const m = /^u8\[(\d+)\]$/.exec(t);
      if (!m) throw new Error(`bad field type ${t}`);
      return Number(m[1]);
    }
  }
}

/** Reads a field from a DataView at an offset already proven in bounds. */
function readField(dv: DataView, off: number, t: FieldType): number | bigint | Uint8Array {
  switch (t) {
    case 'u8': return dv.getUint8(off);
    case 'u16le': return dv.getUint16(off, true);
    case 's16le': return dv.getInt16(off, true);
    case 'u32le': return dv.getUint32(off, true);
    case 's32le': return dv.getInt32(off, true);
    case 'u64le': return dv.getBigUint64(off, true);
    case 's64le': return dv.getBigInt64(off, true);
    case 'u16be': return dv.getUint16(off, false);
    case 'u32be': return dv.getUint32(off, false);
    case 'u64be': return dv.getBigUint64(off, false);
    default: {
      const w = widthOf(t);
      return new Uint8Array(dv.buffer, dv.byteOffset + off, w).slice();
    }
  }
}

function writeField(dv: DataView, off: number, t: FieldType, v: number | bigint | Uint8Array): void {
  switch (t) {
    case 'u8': dv.setUint8(off, v as number); return;
    case 'u16le': dv.setUint16(off, v as number, true); return;
    case 's16le': dv.setInt16(off, v as number, true); return;
    case 'u32le': dv.setUint32(off, v as number, true); return;
    case 's32le': dv.setInt32(off, v as number, true); return;
    case 'u64le': dv.setBigUint64(off, BigInt(v as bigint), true); return;
    case 's64le': dv.setBigInt64(off, BigInt(v as bigint), true); return;
    case 'u16be': dv.setUint16(off, v as number, false); return;
    case 'u32be': dv.setUint32(off, v as number, false); return;
    case 'u64be': dv.setBigUint64(off, BigInt(v as bigint), false); return;
    default: {
      const w = widthOf(t);
      const src = v as Uint8Array;
      const dst = new Uint8Array(dv.buffer, dv.byteOffset + off, w);
      dst.fill(0);
      dst.set(src.subarray(0, w));
    }
  }
}

export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A declarative struct: the kernel's name, its size, and fields by offset. Fields may leave
 * gaps (reserved/padding) but may not overlap; `size` is the kernel's sizeof.
 */
export class StructSchema<F extends readonly FieldSpec[]> {
  private readonly widths: number[];
  constructor(readonly name: string, readonly size: number, readonly fields: F) {
    this.widths = fields.map((f) => widthOf(f[1]));
    this.fast = this.compile();
    fields.forEach((f, i) => {
      if (f[2] < 0 || f[2] + this.widths[i] > size) throw new Error(`${name}.${f[0]} outside struct`);
    });
  }

  /** Offset of a field by name (for checksum holes and targeted patches). */
  offsetOf(name: F[number][0]): number {
    const f = this.fields.find((x) => x[0] === name);
    if (!f) throw new Error(`${this.name} has no field ${name}`);
    return f[2];
  }

  /**
   * Decodes at `off`. `avail` limits how many bytes of the struct exist (short on-disk
   * variants, e.g. a 128-byte inode or a 32-byte group descriptor): fields past it read 0.
   */
  decode(b: Uint8Array, off = 0, avail = this.size, bounds: BoundsErrorFactory = defaultBounds): Decoded<F> {
    const need = Math.min(avail, this.size);
    if (off < 0 || off + need > b.byteLength) throw bounds(off, need, b.byteLength, this.name);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (need === this.size) return this.fast(dv, off) as Decoded<F>;
    const out: Record<string, number | bigint | Uint8Array> = {};
    for (let i = 0; i < this.fields.length; i++) {
      const [name, t, fo] = this.fields[i];
      const w = this.widths[i];
      if (fo + w <= need) out[name] = readField(dv, off + fo, t);
      else out[name] = zeroOf(t, w);
    }
    return out as Decoded<F>;
  }

  /**
   * The whole-struct decoder, compiled once per schema into straight-line DataView reads:
   * decoding runs on every inode, extent and dirent, and the generic loop dominated
   * profiles (GC of per-field temporaries). Field names are the schema's own identifiers.
   */
  private readonly fast: (dv: DataView, off: number) => Record<string, unknown>;

  private compile(): (dv: DataView, off: number) => Record<string, unknown> {
    const body: string[] = [];
    for (const [name, t, fo] of this.fields) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return (dv, off) => this.slow(dv, off);
      let e: string;
      switch (t) {
        case 'u8': e = `dv.getUint8(off + ${fo})`; break;
        case 'u16le': e = `dv.getUint16(off + ${fo}, true)`; break;
        case 's16le': e = `dv.getInt16(off + ${fo}, true)`; break;
        case 'u32le': e = `dv.getUint32(off + ${fo}, true)`; break;
        case 's32le': e = `dv.getInt32(off + ${fo}, true)`; break;
        case 'u64le': e = `dv.getBigUint64(off + ${fo}, true)`; break;
        case 's64le': e = `dv.getBigInt64(off + ${fo}, true)`; break;
        case 'u16be': e = `dv.getUint16(off + ${fo}, false)`; break;
        case 'u32be': e = `dv.getUint32(off + ${fo}, false)`; break;
        case 'u64be': e = `dv.getBigUint64(off + ${fo}, false)`; break;
        default: e = `new Uint8Array(dv.buffer, dv.byteOffset + off + ${fo}, ${widthOf(t)}).slice()`;
      }
      body.push(`${name}: ${e}`);
    }
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    return new Function('dv', 'off', `return { ${body.join(', ')} };`) as (dv: DataView, off: number) => Record<string, unknown>;
  }

  private slow(dv: DataView, off: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, t, fo] of this.fields) out[name] = readField(dv, off + fo, t);
    return out;
  }

  /** Encodes `v` into `b` at `off`; fields not given are left as they are. */
  encode(v: Partial<Decoded<F>>, b: Uint8Array, off = 0, bounds: BoundsErrorFactory = defaultBounds): void {
    if (off < 0 || off + this.size > b.byteLength) throw bounds(off, this.size, b.byteLength, this.name);
    const dv = viewOf(b);
    const rec = v as Record<string, number | bigint | Uint8Array | undefined>;
    for (const [name, t, fo] of this.fields) {
      const x = rec[name];
      if (x !== undefined) writeField(dv, off + fo, t, x);
    }
  }
}

function zeroOf(t: FieldType, w: number): number | bigint | Uint8Array {
  if (t === 'u64le' || t === 's64le' || t === 'u64be') return 0n;
  if (t.startsWith('u8[')) return new Uint8Array(w);
  return 0;
}

export function struct<const F extends readonly FieldSpec[]>(name: string, size: number, fields: F): StructSchema<F> {
  return new StructSchema(name, size, fields);
}

/** A cursor over bytes with bounds checks; errors come from the owning layer's factory. */
export class Reader {
  readonly dv: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array, private readonly bounds: BoundsErrorFactory = defaultBounds, readonly what = 'buffer') {
    this.dv = viewOf(buf);
  }
  get length(): number { return this.buf.byteLength; }
  get remaining(): number { return this.buf.byteLength - this.pos; }

  check(off: number, width: number): void {
    if (!(off >= 0 && width >= 0 && off + width <= this.buf.byteLength)) {
      throw this.bounds(off, width, this.buf.byteLength, this.what);
    }
  }
  u8(off: number): number { this.check(off, 1); return this.dv.getUint8(off); }
  u16(off: number): number { this.check(off, 2); return this.dv.getUint16(off, true); }
  u32(off: number): number { this.check(off, 4); return this.dv.getUint32(off, true); }
  s32(off: number): number { this.check(off, 4); return this.dv.getInt32(off, true); }
  u64(off: number): bigint { this.check(off, 8); return this.dv.getBigUint64(off, true); }
  u16be(off: number): number { this.check(off, 2); return this.dv.getUint16(off, false); }
  u32be(off: number): number { this.check(off, 4); return this.dv.getUint32(off, false); }
  u64be(off: number): bigint { this.check(off, 8); return this.dv.getBigUint64(off, false); }
  bytes(off: number, len: number): Uint8Array {
    this.check(off, len);
    return this.buf.subarray(off, off + len);
  }
  /** Decodes a schema at `off` with this reader's error factory. */
  struct<F extends readonly FieldSpec[]>(s: StructSchema<F>, off: number, avail = s.size): Decoded<F> {
    return s.decode(this.buf, off, avail, this.bounds);
  }
  /** Sequential forms for protocol parsing. */
  take(len: number): Uint8Array { const b = this.bytes(this.pos, len); this.pos += len; return b; }
  takeStruct<F extends readonly FieldSpec[]>(s: StructSchema<F>): Decoded<F> {
    const v = this.struct(s, this.pos); this.pos += s.size; return v;
  }
  /** A NUL-terminated string starting at pos (the NUL is consumed, not returned). */
  takeCString(): Uint8Array {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw this.bounds(this.pos, this.remaining + 1, this.buf.byteLength, `${this.what} string`);
    const s = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return s;
  }
}

/** A cursor that writes into a preallocated buffer (replies, on-disk encodes). */
export class Writer {
  readonly dv: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array) { this.dv = viewOf(buf); }
  private need(w: number): void {
    if (this.pos + w > this.buf.byteLength) throw new BoundsError(this.pos, w, this.buf.byteLength, 'writer');
  }
  u8(v: number): this { this.need(1); this.dv.setUint8(this.pos, v); this.pos += 1; return this; }
  u16(v: number): this { this.need(2); this.dv.setUint16(this.pos, v, true); this.pos += 2; return this; }
  u32(v: number): this { this.need(4); this.dv.setUint32(this.pos, v >>> 0, true); this.pos += 4; return this; }
  s32(v: number): this { this.need(4); this.dv.setInt32(this.pos, v, true); this.pos += 4; return this; }
  u64(v: bigint | number): this { this.need(8); this.dv.setBigUint64(this.pos, BigInt(v), true); this.pos += 8; return this; }
  s64(v: bigint | number): this { this.need(8); this.dv.setBigInt64(this.pos, BigInt(v), true); this.pos += 8; return this; }
  bytes(b: Uint8Array): this { this.need(b.byteLength); this.buf.set(b, this.pos); this.pos += b.byteLength; return this; }
  zero(n: number): this { this.need(n); this.buf.fill(0, this.pos, this.pos + n); this.pos += n; return this; }
  align(n: number): this { const r = this.pos % n; return r ? this.zero(n - r) : this; }
  struct<F extends readonly FieldSpec[]>(s: StructSchema<F>, v: Partial<Decoded<F>>): this {
    this.need(s.size);
    this.buf.fill(0, this.pos, this.pos + s.size);
    s.encode(v, this.buf, this.pos);
    this.pos += s.size;
    return this;
  }
}

/** Asserts a schema's fields are contiguous where the kernel struct is packed (tests use it). */
export function schemaGaps<F extends readonly FieldSpec[]>(s: StructSchema<F>): Array<[number, number]> {
  const spans = s.fields.map((f) => [f[2], f[2] + widthOf(f[1])] as [number, number]).sort((a, b) => a[0] - b[0]);
  const gaps: Array<[number, number]> = [];
  let at = 0;
  for (const [a, b] of spans) {
    if (a > at) gaps.push([at, a]);
    if (a < at) throw new Error(`${s.name}: overlapping field at ${a}`);
    at = Math.max(at, b);
  }
  if (at < s.size) gaps.push([at, s.size]);
  return gaps;
}
