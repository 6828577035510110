import { resolveGatewayConfig } from '../../../src/modules/gateway/gateway-config';
import { configEtag } from '../../../src/modules/gateway/gateway-config.service';
import { ANTHROPIC, contexts, input, keysOf, NOW, of, OPENAI, open, platform, sealed, T, version } from '../../factories/gateway-rows';

describe('resolveGatewayConfig', () => {
  it('USER_PROVIDED serves attached keys in order, active then previous in grace, never platform keys', () => {
    const r = resolveGatewayConfig(
      input({
        attached: [
          version('a', { currentVersion: 2, version: 2 }),
          version('a', { currentVersion: 2, version: 1, state: 'PREVIOUS', retireAfter: new Date(NOW.getTime() + 1000) }),
          version('b'),
        ],
        platformKeys: [platform('pk1')],
      }),
      open,
    );
    expect(keysOf(r)).toEqual(['TENANT:a-v2', 'TENANT:a-v1', 'TENANT:b-v1']);
    expect(of(r)).toMatchObject({ mode: 'USER_PROVIDED', status: 'OK', message: null, skipped: [] });
    expect(of(r).credentials[1]).toMatchObject({ state: 'PREVIOUS', retireAfter: '2030-01-01T12:00:01.000Z' });
  });

  it('drops a previous version once its grace period is over (or when it has none)', () => {
    const r = resolveGatewayConfig(
      input({
        attached: [
          version('a', { currentVersion: 3, version: 3 }),
          version('a', { currentVersion: 3, version: 2, state: 'PREVIOUS', retireAfter: NOW }),
          version('a', { currentVersion: 3, version: 1, state: 'PREVIOUS', retireAfter: null }),
        ],
      }),
      open,
    );
    expect(keysOf(r)).toEqual(['TENANT:a-v3']);
  });

  it('skips invalid, revoked, unvalidated and unreadable keys and says so', () => {
    const r = resolveGatewayConfig(
      input({
        attached: [
          version('bad', { status: 'INVALID' }),
          version('gone', { revoked: true, status: 'REVOKED', version: null, state: null, sealed: null }),
          version('new', { status: 'PENDING_VALIDATION', currentVersion: null, version: null, state: null }),
          version('torn', { sealed: sealed('broken') }),
        ],
      }),
      open,
    );
    expect(of(r).status).toBe('NO_USABLE_KEY');
    expect(of(r).credentials).toEqual([]);
    expect(of(r).skipped.map((s) => `${'credentialId' in s ? s.credentialId : ''}:${s.reason}`)).toEqual([
      'bad:INVALID',
      'gone:REVOKED',
      'new:NOT_VALIDATED',
      'torn:UNREADABLE',
    ]);
    expect(of(r).message).toMatch(/No usable key for OpenAI: mode USER_PROVIDED serves only the tenant's own keys/);
    expect(of(r).message).toMatch(/bad \(INVALID\)/);
  });

  it('keeps serving the current version while a rotation waits for validation', () => {
    const r = resolveGatewayConfig(input({ attached: [version('a', { status: 'PENDING_VALIDATION' })] }), open);
    expect(keysOf(r)).toEqual(['TENANT:a-v1']);
  });

  it('USER_PROVIDED with an override but nothing attached says clearly that there is no key', () => {
    const r = resolveGatewayConfig(input({ overrides: [{ providerId: ANTHROPIC.id, credentialMode: 'USER_PROVIDED' }] }), open);
    expect(r.map((p) => [p.provider.slug, p.status, p.reason])).toEqual([
      ['anthropic', 'NO_USABLE_KEY', 'NO_KEY'],
      ['openai', 'NO_USABLE_KEY', 'NO_KEY'],
    ]);
    expect(of(r, 'anthropic')).toMatchObject({ status: 'NO_USABLE_KEY', credentials: [] });
    expect(of(r, 'anthropic').message).toContain('none is attached');
  });

  it('BUNDLED serves only platform keys and says tenant keys are not served', () => {
    const r = resolveGatewayConfig(input({ mode: 'BUNDLED', attached: [version('a')], platformKeys: [platform('pk1'), platform('pk2')] }), open);
    expect(keysOf(r)).toEqual(['PLATFORM:platform-pk1', 'PLATFORM:platform-pk2']);
    expect(of(r).message).toContain('1 attached tenant key(s) are not served');
    expect(of(r).skipped).toEqual([]);
    expect(contexts.at(-1)).toEqual({ purpose: 'platform-key', tenantId: 'platform', objectId: 'pk2', version: 1 });
  });

  it('an unreadable platform key is skipped and named, not served', () => {
    const r = resolveGatewayConfig(
      input({ mode: 'BUNDLED', platformKeys: [{ ...platform('pk1'), sealed: sealed('broken') }, platform('pk2')] }),
      open,
    );
    expect(keysOf(r)).toEqual(['PLATFORM:platform-pk2']);
    expect(of(r).skipped).toEqual([{ source: 'PLATFORM', platformKeyId: 'pk1', label: 'pk1', reason: 'UNREADABLE' }]);
    expect(of(r).message).toContain('pk1 (UNREADABLE)');
  });

  it('BUNDLED without platform keys is NO_USABLE_KEY, not a fallback to tenant keys', () => {
    const r = resolveGatewayConfig(input({ mode: 'BUNDLED', attached: [version('a')] }), open);
    expect(of(r)).toMatchObject({ status: 'NO_USABLE_KEY', credentials: [] });
  });

  it('HYBRID serves tenant keys first, then platform keys, each marked with its source', () => {
    const r = resolveGatewayConfig(
      input({ mode: 'HYBRID', attached: [version('a')], platformKeys: [platform('pk1'), platform('pk9', ANTHROPIC.id)] }),
      open,
    );
    expect(keysOf(r)).toEqual(['TENANT:a-v1', 'PLATFORM:platform-pk1']);
    expect(keysOf(r, 'anthropic')).toEqual(['PLATFORM:platform-pk9']);
    expect(r.find((p) => p.provider.slug === 'anthropic')!.message).toContain('serving platform keys only');
    expect(r.map((p) => p.provider.slug)).toEqual(['anthropic', 'openai']);
    expect(r[1].credentials[1]).toMatchObject({ source: 'PLATFORM', platformKeyId: 'pk1', version: 1 });
  });

  it('a per-provider override wins over the gateway mode', () => {
    const r = resolveGatewayConfig(
      input({
        mode: 'HYBRID',
        attached: [version('a')],
        overrides: [{ providerId: OPENAI.id, credentialMode: 'USER_PROVIDED' }],
        platformKeys: [platform('pk1')],
      }),
      open,
    );
    expect(of(r)).toMatchObject({ mode: 'USER_PROVIDED', modeSource: 'PROVIDER_OVERRIDE' });
    expect(keysOf(r)).toEqual(['TENANT:a-v1']);
  });

  it('a tenant in BYOK mode PLATFORM gets platform keys on every provider, overrides notwithstanding', () => {
    const r = resolveGatewayConfig(
      input({ byok: 'PLATFORM', overrides: [{ providerId: OPENAI.id, credentialMode: 'USER_PROVIDED' }], platformKeys: [platform('pk1')] }),
      open,
    );
    expect(of(r)).toMatchObject({ mode: 'BUNDLED', modeSource: 'TENANT_PLATFORM' });
    expect(keysOf(r)).toEqual(['PLATFORM:platform-pk1']);
  });

  it("never considers another tenant's rows, and opens tenant keys with the gateway's tenant", () => {
    contexts.length = 0;
    const r = resolveGatewayConfig(input({ attached: [version('mine'), version('theirs', { tenantId: 'tenant-b' })] }), open);
    expect(keysOf(r)).toEqual(['TENANT:mine-v1']);
    expect(contexts).toEqual([{ purpose: 'credential-key', tenantId: T, objectId: 'mine', version: 1 }]);
  });

  it('lists providers whose platform keys the mode would not serve as NO_KEY, serving none of them', () => {
    const r = resolveGatewayConfig(input({ platformKeys: [platform('pk1')] }), open);
    expect(r.map((p) => [p.provider.slug, p.status, p.reason, p.credentials.length])).toEqual([
      ['anthropic', 'NO_USABLE_KEY', 'NO_KEY', 0],
      ['openai', 'NO_USABLE_KEY', 'NO_KEY', 0],
    ]);
  });
});

describe('explicit absence and held keys', () => {
  const moved = { ...OPENAI, baseUrl: 'https://new-host.example' };

  it('holds tenant keys whose provider moved to a host the tenant has not confirmed', () => {
    const r = resolveGatewayConfig(input({ providers: [moved, ANTHROPIC], attached: [version('a'), version('b', { status: 'INVALID' })] }), open);
    expect(of(r)).toMatchObject({ status: 'NO_USABLE_KEY', reason: 'AWAITING_HOST_CONFIRMATION', credentials: [] });
    expect(of(r).skipped.map((s) => s.reason)).toEqual(['AWAITING_HOST_CONFIRMATION', 'AWAITING_HOST_CONFIRMATION']);
    expect(of(r).message).toContain('confirmProviderHost');
    const confirmed = resolveGatewayConfig(input({ providers: [{ ...moved, confirmedBaseUrl: moved.baseUrl }], attached: [version('a')] }), open);
    expect(keysOf(confirmed)).toEqual(['TENANT:a-v1']);
  });

  it('HYBRID serves platform keys (never the held tenant key), and names the held one', () => {
    const r = resolveGatewayConfig(input({ mode: 'HYBRID', providers: [moved], attached: [version('a')], platformKeys: [platform('pk1')] }), open);
    expect(keysOf(r)).toEqual(['PLATFORM:platform-pk1']);
    expect(of(r)).toMatchObject({ status: 'OK', reason: null });
    expect(of(r).message).toContain('a (AWAITING_HOST_CONFIRMATION)');
  });

  it.each([
    ['USER_PROVIDED, nothing attached', 'NO_KEY', input({ providers: [OPENAI] })],
    ['USER_PROVIDED, keys revoked', 'ALL_REVOKED', input({ providers: [{ ...OPENAI, tenantRevoked: true }] })],
    ['USER_PROVIDED, attached key invalid', 'INVALID', input({ providers: [OPENAI], attached: [version('a', { status: 'INVALID' })] })],
    [
      'USER_PROVIDED, attached key pending',
      'NOT_VALIDATED',
      input({ providers: [OPENAI], attached: [version('a', { currentVersion: null, version: null, state: null })] }),
    ],
    ['BUNDLED, never any platform key', 'NO_KEY', input({ mode: 'BUNDLED', providers: [OPENAI] })],
    ['BUNDLED, platform keys revoked', 'PLATFORM_KEYS_REVOKED', input({ mode: 'BUNDLED', providers: [{ ...OPENAI, platformRevoked: true }] })],
    [
      'tenant PLATFORM, platform keys revoked',
      'PLATFORM_KEYS_REVOKED',
      input({ byok: 'PLATFORM', providers: [{ ...OPENAI, platformRevoked: true }], attached: [version('a')] }),
    ],
    ['HYBRID, nothing at all', 'NO_KEY', input({ mode: 'HYBRID', providers: [OPENAI] })],
    ['HYBRID, platform keys revoked', 'PLATFORM_KEYS_REVOKED', input({ mode: 'HYBRID', providers: [{ ...OPENAI, platformRevoked: true }] })],
    [
      'override USER_PROVIDED, key invalid',
      'INVALID',
      input({
        mode: 'BUNDLED',
        providers: [OPENAI],
        overrides: [{ providerId: OPENAI.id, credentialMode: 'USER_PROVIDED' }],
        attached: [version('a', { status: 'INVALID' })],
      }),
    ],
    [
      'disabled provider still attached',
      'PROVIDER_DISABLED',
      input({ providers: [{ ...OPENAI, enabled: false }], attached: [version('a', { status: 'INVALID' })] }),
    ],
  ])('%s: NO_USABLE_KEY with reason %s', (_name, reason, given) => {
    expect(of(resolveGatewayConfig(given, open))).toMatchObject({ status: 'NO_USABLE_KEY', reason, credentials: [] });
  });

  it('a disabled provider nobody references is not listed; an enabled one always is', () => {
    const r = resolveGatewayConfig(input({ providers: [OPENAI, { ...ANTHROPIC, enabled: false }] }), open);
    expect(r.map((p) => p.provider.slug)).toEqual(['openai']);
  });

  it('the ETag changes when only the reason changes', () => {
    const a = resolveGatewayConfig(input({ mode: 'BUNDLED', providers: [OPENAI] }), open);
    const b = resolveGatewayConfig(input({ mode: 'BUNDLED', providers: [{ ...OPENAI, platformRevoked: true }] }), open);
    expect(configEtag('gw', 3, a)).not.toBe(configEtag('gw', 3, b));
  });
});
