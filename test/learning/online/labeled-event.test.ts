import { describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.js';
import {
  type LabeledEvent,
  parseLabeledEvent,
  publishLabeledEvents,
} from '../../../src/learning/online/labeled-event.js';
import { learnerSettings } from '../../../src/learning/online/learner-settings.js';
import { expectFerryError, expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const GOOD: LabeledEvent = {
  model: 'tagifai',
  title: 'Transfer learning with transformers',
  description: '',
  label: 'natural-language-processing',
  at: '2026-12-01T10:00:00.123+01:00',
};
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('labeled events', () => {
  it('parses the format, ignores unknown fields, defaults a missing description to ""', () => {
    expect(parseLabeledEvent(bytes({ ...GOOD, extra: 1 }))).toEqual(GOOD);
    const { description: _, ...noDescription } = GOOD;
    expect(parseLabeledEvent(bytes(noDescription)).description).toBe('');
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{')],
    ['an array', bytes([GOOD])],
    ['a bad model name', bytes({ ...GOOD, model: 'no spaces allowed' })],
    ['no text', bytes({ ...GOOD, title: ' ', description: '!!' })],
    ['an empty label', bytes({ ...GOOD, label: ' ' })],
    ['a long label', bytes({ ...GOOD, label: 'x'.repeat(257) })],
    ['a time without zone', bytes({ ...GOOD, at: '2026-12-01T10:00:00' })],
    ['a title that is a number', bytes({ ...GOOD, title: 3 })],
    ['an inherited field only', new TextEncoder().encode('{"__proto__": {"model": "m"}}')],
  ])('refuses %s (FERRY_LEARNER_INVALID)', (_, data) => {
    expectFerryErrorSync(() => parseLabeledEvent(data), 'FERRY_LEARNER_INVALID');
  });

  it('the publisher checks before publishing anything, keys by model', async () => {
    const log = new SqliteEventLog({ path: ':memory:' });
    await log.init();
    try {
      await expectFerryError(
        publishLabeledEvents(log, 'feedback', [
          { id: 'a', event: GOOD },
          { id: 'b', event: { ...GOOD, label: '' } },
        ]),
        'FERRY_LEARNER_INVALID',
      );
      await log.ensureStream({ name: 'feedback' });
      expect((await log.status('feedback')).events).toBe(0);
      const acks = await publishLabeledEvents(log, 'feedback', [{ id: 'a', event: GOOD }]);
      expect(acks).toHaveLength(1);
      const consumer = await log.consumer('feedback', { name: 'c' });
      const [d] = await consumer.fetch(1, 1000);
      expect(d?.key).toBe('tagifai');
      expect(parseLabeledEvent(d!.data)).toEqual(GOOD);
      await consumer.close();
    } finally {
      await log.close();
    }
  });

  it('learner settings are checked', () => {
    expectFerryErrorSync(() => learnerSettings({ model: 'bad name' }), 'FERRY_LEARNER_INVALID');
    expectFerryErrorSync(() => learnerSettings({ model: 'm', stream: 'Bad' }), 'FERRY_LEARNER_INVALID');
    expectFerryErrorSync(() => learnerSettings({ model: 'm', margin: 2 }), 'FERRY_LEARNER_INVALID');
    expectFerryErrorSync(
      () => learnerSettings({ model: 'm', window: 10, minLabels: 11 }),
      'FERRY_LEARNER_INVALID',
    );
    expect(learnerSettings({ model: 'm', window: 50 }).minLabels).toBe(50);
  });
});
