import { ProviderError } from '../providers/providers.contract.js';
import { readConfigKey, refusesPageToken } from './resume-point.js';

describe('readConfigKey', () => {
  const config = {
    baseUrl: 'https://photos.example',
    streams: {
      photos: { path: '/photos', query: { page_size: 4 }, items: 'data', id: 'id' },
      posts: { path: '/posts', items: 'data', id: 'id' },
    },
  };

  it('changes when the type’s stream or what every stream shares changes', () => {
    const key = readConfigKey(config, 'photos');
    const smallerPages = {
      ...config,
      streams: { ...config.streams, photos: { ...config.streams.photos, query: { page_size: 3 } } },
    };
    expect(readConfigKey(smallerPages, 'photos')).not.toBe(key);
    expect(readConfigKey({ ...config, baseUrl: 'https://eu.photos.example' }, 'photos')).not.toBe(key);
  });

  it('stays the same when another type’s stream changes, or the keys come in another order', () => {
    const key = readConfigKey(config, 'photos');
    expect(readConfigKey({ ...config, streams: { photos: config.streams.photos } }, 'photos')).toBe(key);
    expect(readConfigKey({ streams: config.streams, baseUrl: config.baseUrl }, 'photos')).toBe(key);
  });

  it('takes the whole config of a provider without streams', () => {
    expect(readConfigKey({ album: 'a' }, 'photos')).not.toBe(readConfigKey({ album: 'b' }, 'photos'));
  });
});

describe('refusesPageToken', () => {
  const answered = (status: number) =>
    new ProviderError(status === 410 || status === 404 ? 'NOT_FOUND' : 'PERMANENT', `answered ${status}`, {
      status,
    });

  it('is true of the answers partners give a token they no longer honour', () => {
    for (const status of [400, 404, 409, 410, 422]) expect(refusesPageToken(answered(status))).toBe(true);
  });

  it('is false of authentication, time-outs, rate limits, outages and errors without an answer', () => {
    for (const status of [401, 403, 408, 429, 500, 503])
      expect(refusesPageToken(answered(status))).toBe(false);
    expect(refusesPageToken(new ProviderError('TEMPORARY', 'connection reset'))).toBe(false);
    expect(refusesPageToken(new Error('answered 410'))).toBe(false);
  });
});
