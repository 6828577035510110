import { gatewayDrift, resolveGatewayConfig } from '../../../src/modules/gateway/gateway-config';
import { configEtag, etagMatches } from '../../../src/modules/gateway/gateway-config.service';
import { input, NOW, of, open, platform, version } from '../../factories/gateway-rows';

/** What a 304 and the drift figures rest on: the config ETag, If-None-Match, and how far a gateway lags. */
describe('configEtag', () => {
  const base = () => resolveGatewayConfig(input({ mode: 'HYBRID', attached: [version('a')], platformKeys: [platform('pk1')] }), open);

  it('is stable for the same content and never derived from the key values', () => {
    const a = base();
    const b = base();
    of(b).credentials[0].key = 'something-else';
    expect(configEtag('gw', 3, a)).toBe(configEtag('gw', 3, b));
    expect(configEtag('gw', 3, a)).toMatch(/^"3-[A-Za-z0-9_-]{22}"$/);
  });

  it('changes with the version, a served key, or a served platform key', () => {
    const etag = configEtag('gw', 3, base());
    expect(configEtag('gw', 4, base())).not.toBe(etag);
    const fewer = resolveGatewayConfig(input({ mode: 'HYBRID', attached: [version('a')] }), open);
    expect(configEtag('gw', 3, fewer)).not.toBe(etag);
    const rotated = resolveGatewayConfig(
      input({ mode: 'HYBRID', attached: [version('a', { currentVersion: 2, version: 2 })], platformKeys: [platform('pk1')] }),
      open,
    );
    expect(configEtag('gw', 3, rotated)).not.toBe(etag);
  });

  it('If-None-Match matches exact, weak, listed and * tags only', () => {
    expect(etagMatches('"3-abc"', '"3-abc"')).toBe(true);
    expect(etagMatches('W/"3-abc"', '"3-abc"')).toBe(true);
    expect(etagMatches('"x", "3-abc"', '"3-abc"')).toBe(true);
    expect(etagMatches('*', '"3-abc"')).toBe(true);
    expect(etagMatches('"3-abd"', '"3-abc"')).toBe(false);
    expect(etagMatches(undefined, '"3-abc"')).toBe(false);
  });
});

describe('gatewayDrift', () => {
  const changed = new Date(NOW.getTime() - 90_000);
  it('a gateway that never pulled is behind by every version', () => {
    expect(gatewayDrift({ configVersion: 2, pulledConfigVersion: null, configChangedAt: changed }, NOW)).toEqual({
      upToDate: false,
      versionsBehind: 2,
      laggingSinceSeconds: 90,
    });
  });
  it('up to date: no lag', () => {
    expect(gatewayDrift({ configVersion: 2, pulledConfigVersion: 2, configChangedAt: changed }, NOW)).toEqual({
      upToDate: true,
      versionsBehind: 0,
      laggingSinceSeconds: null,
    });
  });
  it('never reports negative lag (clock skew)', () => {
    const future = new Date(NOW.getTime() + 5000);
    expect(gatewayDrift({ configVersion: 3, pulledConfigVersion: 2, configChangedAt: future }, NOW).laggingSinceSeconds).toBe(0);
  });
});
