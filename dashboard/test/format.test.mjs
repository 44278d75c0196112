// The dashboard's formatting: money from exact decimal strings without a float, counts
// above 2^53, changes between periods, UTC days. Run with `node --test dashboard/test/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usdToNano, nanoToUsd, formatNano, formatUsd, formatCount, formatMs, change, addDays, dayCount, humanize, isDay } from '../src/format.js';

test('USD strings round-trip through integer nano-USD exactly', () => {
  assert.equal(usdToNano('12.345000001'), 12_345_000_001n);
  assert.equal(usdToNano('0'), 0n);
  assert.equal(usdToNano('9007199.254740993'), 9_007_199_254_740_993n, 'past 2^53 nano-USD, no float rounding');
  assert.equal(nanoToUsd(9_007_199_254_740_993n), '9007199.254740993');
  assert.equal(nanoToUsd(150_000n), '0.00015');
  assert.equal(nanoToUsd(12_000_000_000n), '12');
  assert.throws(() => usdToNano('1.0000000001'), /not a USD amount/);
  assert.throws(() => usdToNano('-1'), /not a USD amount/);
});

test('amounts read as cents from $1, up to four decimals from a cent, exactly below a cent', () => {
  assert.equal(formatNano(0n), '$0.00');
  assert.equal(formatNano(1n), '$0.000000001', 'a tiny cost never shows as $0.00');
  assert.equal(formatNano(1_500_000n), '$0.0015');
  assert.equal(formatNano(500_000_000n), '$0.50');
  assert.equal(formatNano(123_450_000n), '$0.1235', 'half up');
  assert.equal(formatNano(1_005_000_000n), '$1.01', 'half up at the cent');
  assert.equal(formatNano(1_004_999_999n), '$1.00');
  assert.equal(formatNano(1_234_567_890_000_000n), '$1,234,567.89');
  assert.equal(formatUsd(null), 'unpriced', 'an unpriced call is not $0');
  assert.equal(formatUsd('3.906'), '$3.91');
});

test('counts keep every digit, also as decimal strings past 2^53', () => {
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount('9007199254740993'), '9,007,199,254,740,993');
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(null), '–');
});

test('durations', () => {
  assert.equal(formatMs(850), '850 ms');
  assert.equal(formatMs(1250), '1.25 s');
  assert.equal(formatMs(200_000), '3 min 20 s');
});

test('change between periods, rounded half up to a tenth of a percent, in integers', () => {
  assert.deepEqual(change(150n, 100n), { text: '+50.0%', direction: 'up' });
  assert.deepEqual(change(50n, 100n), { text: '−50.0%', direction: 'down' });
  assert.deepEqual(change(1n, 3n), { text: '−66.7%', direction: 'down' });
  assert.deepEqual(change(2n, 3n), { text: '−33.3%', direction: 'down' });
  assert.deepEqual(change(10_001n, 10_000n), { text: '+0.0%', direction: 'up' });
  assert.deepEqual(change(100_000n, 1n), { text: '+9,999,900.0%', direction: 'up' });
  assert.deepEqual(change(5n, 0n), { text: 'new', direction: 'new' });
  assert.deepEqual(change(0n, 0n), { text: 'no change', direction: 'flat' });
  assert.deepEqual(change(7, 7), { text: '0.0%', direction: 'flat' });
});

test('UTC days', () => {
  assert.equal(addDays('2025-11-30', 1), '2025-12-01');
  assert.equal(addDays('2024-03-01', -1), '2024-02-29');
  assert.equal(dayCount('2025-11-08', '2025-11-14'), 7);
  assert.equal(dayCount('2025-11-08', '2025-11-08'), 1);
  assert.ok(isDay('2025-11-08'));
  assert.ok(!isDay('2025-11-8'));
  assert.ok(!isDay('yesterday'));
});

test('names for people', () => {
  assert.equal(humanize('spend_spike'), 'Spend spike');
  assert.equal(humanize('cheaperModel'), 'Cheaper model');
  assert.equal(humanize('cost_usd'), 'Cost USD');
  assert.equal(humanize('customer_id'), 'Customer ID');
  assert.equal(humanize('share_pct'), 'Share %');
});
