import { foldEvent } from './LiveFeed';
import type { LiveRequestsSubscription } from '../../gql/graphql';

type Event = LiveRequestsSubscription['requestEvents'];

const event = (requestId: string, attempt: number, phase: 'STARTED' | 'FINISHED'): Event => ({
  phase,
  requestId,
  attempt,
  logId: phase === 'FINISHED' ? 1 : null,
  keyId: 1,
  keyName: 'k',
  provider: 'openai',
  endpoint: 'chat_completions',
  model: 'gpt-4o',
  isStream: false,
  status: phase === 'FINISHED' ? 'success' : null,
  httpStatusCode: null,
  errorType: null,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheCreationTokens: 0,
  cost: 0,
  latencyMs: null,
  firstByteMs: null,
  at: '2026-11-26T12:00:00Z',
});

describe('the live feed', () => {
  it('puts new attempts first', () => {
    const rows = foldEvent(foldEvent([], event('a', 1, 'STARTED')), event('b', 1, 'STARTED'));
    expect(rows.map((r) => r.requestId)).toEqual(['b', 'a']);
  });

  it('replaces a started attempt with its finish, in place', () => {
    let rows = foldEvent(foldEvent([], event('a', 1, 'STARTED')), event('b', 1, 'STARTED'));
    rows = foldEvent(rows, event('a', 1, 'FINISHED'));
    expect(rows.map((r) => [r.requestId, r.phase])).toEqual([
      ['b', 'STARTED'],
      ['a', 'FINISHED'],
    ]);
  });

  it('keeps a failover attempt as its own row', () => {
    const rows = foldEvent(foldEvent([], event('a', 1, 'FINISHED')), event('a', 2, 'STARTED'));
    expect(rows).toHaveLength(2);
  });

  it('keeps only the newest rows', () => {
    let rows: Event[] = [];
    for (let i = 0; i < 60; i++) rows = foldEvent(rows, event(`r${i}`, 1, 'STARTED'), 50);
    expect(rows).toHaveLength(50);
    expect(rows[0].requestId).toBe('r59');
  });
});
