import { nameRule, secretRule, slugRule, urlRule } from '../../../src/modules/common/rules';
import { AddressPolicy, DestinationPolicy, OutboundPolicy } from '../../../src/outbound';
import { keyFormatRule, newKeyRule } from '../../../src/modules/provider/provider.rules';

const field = ['input', 'x'];

describe('secretRule', () => {
  it.each([
    ['', 'SECRET_EMPTY'],
    ['   \t ', 'SECRET_EMPTY'],
    ['sk-proj-abc\nsecond-line', 'SECRET_MULTILINE'],
    ['sk-proj-abc\rdef', 'SECRET_MULTILINE'],
    ['sk-proj-abc def', 'SECRET_INVALID_CHARACTERS'],
    ['sk-proj-abc\u0000def', 'SECRET_INVALID_CHARACTERS'],
    ['x'.repeat(4097), 'SECRET_TOO_LONG'],
  ])('rejects %j with %s and never quotes it', (value, code) => {
    const error = secretRule(value, field);
    expect(error?.code).toBe(code);
    if (value.trim()) expect(error?.message).not.toContain(value.trim().slice(0, 8));
  });

  it('accepts a key with a trailing newline from a paste', () => {
    expect(secretRule('sk-proj-abcdefghijklmnopqrstuvwxyz\n', field)).toBeNull();
  });
});

describe('slugRule and nameRule', () => {
  it.each(['a', 'acme', 'acme-2', 'a1-b2-c3'])('accepts slug %s', (s) => expect(slugRule(s, field)).toBeNull());
  it.each(['', 'Acme', '-acme', 'acme-', 'ac me', 'a'.repeat(64), 'acme_1'])('rejects slug %j', (s) =>
    expect(slugRule(s, field)?.code).toBe('SLUG_INVALID'),
  );
  it('limits labels to 100 characters on one line', () => {
    expect(nameRule('x'.repeat(100), field, 'LABEL')).toBeNull();
    expect(nameRule('x'.repeat(101), field, 'LABEL')?.code).toBe('LABEL_TOO_LONG');
    expect(nameRule('a\nb', field, 'LABEL')?.code).toBe('LABEL_INVALID');
    expect(nameRule('  ', field)?.code).toBe('NAME_INVALID');
  });
});

describe('urlRule', () => {
  const open = new OutboundPolicy(DestinationPolicy.create(['http://*:*']), AddressPolicy.create({ allow: [], allowLoopback: true }));
  const production = new OutboundPolicy(DestinationPolicy.create([]), AddressPolicy.create({ allow: [], allowLoopback: false }));

  it.each(['https://example.com/hook', 'http://127.0.0.1:8080/x'])('accepts %s where the policy allows it', (u) =>
    expect(urlRule(u, field, open)).toBeNull(),
  );
  it.each(['ftp://example.com', 'not a url', 'https://user:pass@example.com/', 'javascript:alert(1)'])('rejects %s', (u) =>
    expect(urlRule(u, field, open)?.code).toBe('URL_INVALID'),
  );
  it('refuses what the policy refuses, with one message whatever the rule', () => {
    const refused = [
      'http://example.com/hook',
      'https://example.com:8443/hook',
      'https://127.0.0.1/x',
      'https://[::ffff:a9fe:a9fe]/',
      'https://localhost/x',
    ].map((u) => urlRule(u, field, production));
    expect(refused.map((r) => r?.code)).toEqual(Array(5).fill('URL_NOT_ALLOWED'));
    expect(new Set(refused.map((r) => r?.message)).size).toBe(1);
    expect(urlRule('https://example.com/hook', field, production)).toBeNull();
  });
});

describe('keyFormatRule', () => {
  const openai = { name: 'OpenAI', keyPattern: '^sk-[A-Za-z0-9_-]{20,}$', keyPrefixes: ['sk-proj-', 'sk-'] };
  it('accepts current project, service-account and legacy key shapes', () => {
    for (const key of ['sk-proj-' + 'a'.repeat(40), 'sk-svcacct-' + 'B'.repeat(40), 'sk-' + 'c'.repeat(48)]) {
      expect(keyFormatRule(key, openai, field)).toBeNull();
    }
  });
  it("rejects another provider's key and names the expected prefixes, not the key", () => {
    const key = 'AIza' + 'x'.repeat(35);
    const error = keyFormatRule(key, openai, field);
    expect(error?.code).toBe('KEY_FORMAT_MISMATCH');
    expect(error?.message).toContain('sk-proj-');
    expect(error?.message).not.toContain(key.slice(0, 10));
  });
});

describe('newKeyRule', () => {
  const openai = { name: 'OpenAI', keyPattern: '^sk-[A-Za-z0-9_-]{20,}$', keyPrefixes: ['sk-proj-'] };
  const key = 'sk-proj-' + 'a'.repeat(40);
  it('returns the key as it is sealed and sent: pasted surrounding whitespace gone', () => {
    expect(newKeyRule(` ${key}\n`, openai, field)).toEqual({ value: key, error: null });
  });
  it('reports the shape problem alone, and the format rule only for a well-formed key of a known provider', () => {
    expect(newKeyRule('sk- bad', openai, field).error?.code).toBe('SECRET_INVALID_CHARACTERS');
    expect(newKeyRule('AIza' + 'x'.repeat(35), openai, field).error?.code).toBe('KEY_FORMAT_MISMATCH');
    expect(newKeyRule('AIza' + 'x'.repeat(35), null, field).error).toBeNull();
    expect(newKeyRule('  ', null, field).error?.code).toBe('SECRET_EMPTY');
  });
});

describe('keyFormatRule across vendors', () => {
  const body = 'a'.repeat(40);
  const builtIn = {
    openai: { name: 'OpenAI', keyPattern: '^sk-[A-Za-z0-9_-]{20,}$', keyPrefixes: ['sk-proj-', 'sk-svcacct-', 'sk-admin-', 'sk-'] },
    anthropic: { name: 'Anthropic', keyPattern: '^sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{20,}$', keyPrefixes: ['sk-ant-api03-', 'sk-ant-'] },
    groq: { name: 'Groq', keyPattern: '^gsk_[A-Za-z0-9]{20,}$', keyPrefixes: ['gsk_'] },
    mistral: { name: 'Mistral', keyPattern: '^[A-Za-z0-9]{20,}$', keyPrefixes: [] as string[] },
  };
  const anyKey = { name: 'Custom', keyPattern: '^.+$', keyPrefixes: [] as string[] };

  it.each<[string, string, string]>([
    ['Anthropic API', `sk-ant-api03-${body}`, 'Anthropic'],
    ['Anthropic admin', `sk-ant-admin01-${body}`, 'Anthropic'],
    ['Anthropic OAuth', `sk-ant-oat01-${body}`, 'Anthropic'],
    ['OpenRouter', `sk-or-v1-${'f'.repeat(64)}`, 'OpenRouter'],
  ])("OpenAI's lenient sk- rule refuses a %s key and names its vendor", (_name, key, vendor) => {
    const error = keyFormatRule(key, builtIn.openai, field);
    expect(error).toEqual({ field, code: 'KEY_BELONGS_TO_OTHER_PROVIDER', message: expect.stringContaining(`issued by ${vendor}`) });
    expect(error?.message).not.toContain(key.slice(0, 16));
  });

  it.each<[string, string]>([
    ['OpenAI project', `sk-proj-${body}`],
    ['OpenAI service account', `sk-svcacct-${body}`],
    ['OpenAI admin', `sk-admin-${body}`],
    ['Anthropic', `sk-ant-api03-${body}`],
    ['Google', `AIza${'b'.repeat(35)}`],
    ['Groq', `gsk_${body}`],
    ['OpenRouter', `sk-or-v1-${'f'.repeat(64)}`],
    ['xAI', `xai-${body}`],
  ])('a custom ^.+$ rule without prefixes refuses a %s key', (_name, key) => {
    expect(keyFormatRule(key, anyKey, field)?.code).toBe('KEY_BELONGS_TO_OTHER_PROVIDER');
  });

  it('accepts keys of no listed vendor, and each vendor its own', () => {
    expect(keyFormatRule(`sk-${body}`, builtIn.openai, field)).toBeNull(); // legacy sk- is not distinctive
    expect(keyFormatRule(`custom-${body}`, anyKey, field)).toBeNull();
    expect(keyFormatRule(`sk-ant-api03-${body}`, builtIn.anthropic, field)).toBeNull();
    expect(keyFormatRule(`gsk_${body}`, builtIn.groq, field)).toBeNull();
    expect(keyFormatRule(`sk-svcacct-${body}`, builtIn.openai, field)).toBeNull();
  });

  it("a custom proxy row that declares a vendor's prefix takes that vendor's keys, and only those", () => {
    const proxy = { name: 'OpenAI proxy', keyPattern: '^.+$', keyPrefixes: ['sk-proj-'] };
    expect(keyFormatRule(`sk-proj-${body}`, proxy, field)).toBeNull();
    expect(keyFormatRule(`sk-ant-api03-${body}`, proxy, field)?.code).toBe('KEY_BELONGS_TO_OTHER_PROVIDER');
    // Declaring only the shared sk- claims no vendor.
    expect(keyFormatRule(`sk-proj-${body}`, { ...proxy, keyPrefixes: ['sk-'] }, field)?.code).toBe('KEY_BELONGS_TO_OTHER_PROVIDER');
  });

  it('a key failing the rule keeps KEY_FORMAT_MISMATCH and still names the likely vendor', () => {
    const error = keyFormatRule(`gsk_${body}`, builtIn.mistral, field);
    expect(error?.code).toBe('KEY_FORMAT_MISMATCH');
    expect(error?.message).toContain('issued by Groq (it starts with gsk_)');
  });
});
