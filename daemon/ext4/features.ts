// Every ext4 feature flag by name (fs/ext4/ext4.h EXT4_FEATURE_*), and the refusal policy:
// unknown incompat -> refuse naming the bit, unknown ro_compat -> read-only.
// Three u32 words in the superblock: s_feature_compat (0x5C), s_feature_incompat (0x60),
// s_feature_ro_compat (0x64).

export const COMPAT = {
  dir_prealloc: 0x1, imagic_inodes: 0x2, has_journal: 0x4, ext_attr: 0x8, resize_inode: 0x10,
  dir_index: 0x20, lazy_bg: 0x40, exclude_inode: 0x80, exclude_bitmap: 0x100,
  sparse_super2: 0x200, fast_commit: 0x400, stable_inodes: 0x800, orphan_file: 0x1000,
} as const;

export const RO_COMPAT = {
  sparse_super: 0x1, large_file: 0x2, btree_dir: 0x4, huge_file: 0x8, gdt_csum: 0x10,
  dir_nlink: 0x20, extra_isize: 0x40, has_snapshot: 0x80, quota: 0x100, bigalloc: 0x200,
  metadata_csum: 0x400, replica: 0x800, read_only: 0x1000, project: 0x2000,
  shared_blocks: 0x4000, verity: 0x8000, orphan_present: 0x10000,
} as const;

export const INCOMPAT = {
  compression: 0x1, filetype: 0x2, recover: 0x4, journal_dev: 0x8, meta_bg: 0x10,
  extents: 0x40, '64bit': 0x80, mmp: 0x100, flex_bg: 0x200, ea_inode: 0x400,
  dirdata: 0x1000, csum_seed: 0x2000, largedir: 0x4000, inline_data: 0x8000,
  encrypt: 0x10000, casefold: 0x20000,
} as const;

export type CompatName = keyof typeof COMPAT;
export type RoCompatName = keyof typeof RO_COMPAT;
export type IncompatName = keyof typeof INCOMPAT;
export type FeatureName = CompatName | RoCompatName | IncompatName;

/** Incompat features this engine reads correctly. Anything else set refuses the open. */
export const INCOMPAT_SUPPORTED: readonly IncompatName[] = [
  'filetype', 'recover', 'meta_bg', 'extents', '64bit', 'mmp', 'flex_bg', 'ea_inode',
  'csum_seed', 'largedir', 'inline_data', 'casefold', 'encrypt',
];
/** ro_compat features we understand for reading; others force read-only (never refuse). */
export const RO_COMPAT_SUPPORTED: readonly RoCompatName[] = [
  'sparse_super', 'large_file', 'btree_dir', 'huge_file', 'gdt_csum', 'dir_nlink',
  'extra_isize', 'quota', 'bigalloc', 'metadata_csum', 'project', 'verity', 'orphan_present',
  'read_only',
];

export class FeatureSet {
  constructor(readonly compat: number, readonly incompat: number, readonly roCompat: number) {}

  has(name: FeatureName): boolean {
    if (name in INCOMPAT) return (this.incompat & INCOMPAT[name as IncompatName]) !== 0;
    if (name in RO_COMPAT) return (this.roCompat & RO_COMPAT[name as RoCompatName]) !== 0;
    return (this.compat & COMPAT[name as CompatName]) !== 0;
  }

  /** Names of every set bit, unknown bits as e.g. `incompat_0x800`. */
  names(): string[] {
    return [
      ...namesOf(this.compat, COMPAT, 'compat'),
      ...namesOf(this.incompat, INCOMPAT, 'incompat'),
      ...namesOf(this.roCompat, RO_COMPAT, 'ro_compat'),
    ];
  }

  /** Set incompat bits we cannot read (known-but-unsupported by name, unknown by bit). */
  unsupportedIncompat(): string[] {
    const ok = INCOMPAT_SUPPORTED.reduce((m, n) => m | INCOMPAT[n], 0);
    return namesOf(this.incompat & ~ok, INCOMPAT, 'incompat');
  }

  /** Set ro_compat bits we do not know: they force a read-only open. */
  unsupportedRoCompat(): string[] {
    const ok = RO_COMPAT_SUPPORTED.reduce((m, n) => m | RO_COMPAT[n], 0);
    return namesOf(this.roCompat & ~ok, RO_COMPAT, 'ro_compat');
  }
}

function namesOf(word: number, table: Record<string, number>, kind: string): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const m = (2 ** bit) >>> 0;
    if (((word >>> 0) & m) === 0) continue;
    const name = Object.keys(table).find((k) => table[k] === m);
    out.push(name ?? `${kind}_0x${m.toString(16)}`);
  }
  return out;
}
