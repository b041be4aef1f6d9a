// Writes jest's real totals where .ci/run can print them as the one plain line CI reads.
const fs = require('node:fs');
class CountReporter {
  onRunComplete(_contexts, results) {
    const out = process.env.EXT4BOX_TEST_COUNTS;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`;
    if (out) fs.writeFileSync(out, line + '\n');
    const suitesFailed = results.numFailedTestSuites;
    if (out && suitesFailed > 0) fs.appendFileSync(out, `suites failed: ${suitesFailed}\n`);
  }
}
module.exports = CountReporter;
