// Every image of ../shared/corpus/e2fsprogs opens or is refused with a typed error, and when
// open a full walk finishes within budget with damage surfacing only as typed errors.
// Zero crashes, zero hangs, bounded memory. The summary line goes to the test output.

import { corpusImages, summarize, walkMany, type RunOutcome } from './corpus-run.js';

const images = corpusImages();
const describeCorpus = images.length ? describe : describe.skip;
if (!images.length) console.warn('hostile corpus: ../shared/corpus/e2fsprogs not found — suite skipped');

describeCorpus('hostile corpus (e2fsprogs test images)', () => {
  let results: RunOutcome[] = [];
  beforeAll(async () => {
    results = await walkMany(images, 2, 45_000, 20_000);
    console.log(summarize(results));
  }, 30 * 60_000);

  it('has all 218 images', () => {
    expect(images.length).toBeGreaterThanOrEqual(218);
  });

  it('never hangs', () => {
    expect(results.filter((r) => r.timedOut).map((r) => r.image)).toEqual([]);
  });

  it('never crashes: every open failure is a typed refusal', () => {
    const crashed = results.filter((r) => r.outcome === 'crashed').map((r) => `${r.image}: ${r.message}`);
    expect(crashed).toEqual([]);
  });

  it('surfaces damage only as typed errors during the walk', () => {
    const bad = results.flatMap((r) => (r.untypedProblems ?? []).map((p) => `${r.image} ${p.op} ${p.path}: ${p.message}`));
    expect(bad).toEqual([]);
  });

  it('keeps memory bounded (peak RSS under 512 MiB per image)', () => {
    const big = results.filter((r) => r.maxRssKiB > 512 * 1024).map((r) => `${r.image}: ${r.maxRssKiB} KiB`);
    expect(big).toEqual([]);
  });

  it('opens the images of rare but valid geometry (8 KiB and 16 KiB blocks)', () => {
    const rare = results.filter((r) => /\/f_(8192|16384)_block\.img\.gz$/.test(r.image));
    expect(rare.length).toBe(2);
    expect(rare.filter((r) => r.outcome !== 'opened').map((r) => `${r.image}: ${r.message}`)).toEqual([]);
  });
});
