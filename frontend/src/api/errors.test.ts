import { CombinedError } from 'urql';
import { GraphQLError } from 'graphql';
import i18n from '../i18n';
import { describeError, fieldErrors, isUnauthenticated } from './errors';

const t = i18n.getFixedT('en');

function gqlError(message: string, extensions: Record<string, unknown>) {
  return new CombinedError({ graphQLErrors: [new GraphQLError(message, { extensions })] });
}

describe('error sentences', () => {
  it('names the field of a BAD_USER_INPUT without repeating it', () => {
    const error = gqlError('proxyIp: must name a port', { code: 'BAD_USER_INPUT', field: 'proxyIp' });
    expect(describeError(error, t)).toBe('Invalid proxyIp: must name a port.');
    expect(fieldErrors(error)).toEqual({ proxyIp: 'Must name a port.' });
  });
  it('turns a conflict into a sentence', () => {
    const error = gqlError('this key is already in the pool', { code: 'CONFLICT' });
    expect(describeError(error, t)).toBe('Conflict: this key is already in the pool.');
  });
  it('hides internal details', () => {
    expect(describeError(gqlError('internal error', { code: 'INTERNAL' }), t)).toBe(
      'The server failed to do this; see its log.',
    );
  });
  it('explains an unreachable server', () => {
    const error = new CombinedError({ networkError: new TypeError('Failed to fetch') });
    expect(describeError(error, t)).toBe('The server cannot be reached; check that amp-pool is running.');
  });
  it('recognises a refused session', () => {
    expect(isUnauthenticated(gqlError('missing bearer token', { code: 'UNAUTHENTICATED' }))).toBe(true);
    expect(isUnauthenticated(gqlError('nope', { code: 'NOT_FOUND' }))).toBe(false);
  });
  it('never shows raw JSON for an unknown code', () => {
    const sentence = describeError(gqlError('something odd', {}), t);
    expect(sentence).toBe('The request failed: something odd.');
  });
});
