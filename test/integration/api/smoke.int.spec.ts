import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

it('answers viewer for the platform admin', async () => {
  const res = await t.gql('{ viewer { role tokenName tenant { id } } }');
  expect(res.errors).toBeUndefined();
  expect(res.data.viewer).toEqual({ role: 'PLATFORM_ADMIN', tokenName: 'platform admin', tenant: null });
});

describe('CORS', () => {
  it('answers a preflight only for configured origins', async () => {
    const cors = await startTestApp({ CORS_ORIGINS: 'https://settings.example.com' });
    try {
      const preflight = (origin: string) =>
        fetch(`${cors.url}/graphql`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
        });
      const allowed = await preflight('https://settings.example.com');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://settings.example.com');
      const other = await preflight('https://evil.example.net');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await cors.close();
    }
  });

  it('sends no CORS headers by default', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://settings.example.com', 'access-control-request-method': 'POST' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
