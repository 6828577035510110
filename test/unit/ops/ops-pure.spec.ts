import { EventStream } from '../../../src/events/event-stream';
import { presentedToken } from '../../../src/http/ops-auth';

describe('presentedToken (dashboard and /metrics auth)', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('reads a Bearer token, or the Basic password (user name ignored)', () => {
    expect(presentedToken('Bearer abc.def')).toBe('abc.def');
    expect(presentedToken('bearer   abc  ')).toBe('abc');
    expect(presentedToken(basic('ops:s3cr:et'))).toBe('s3cr:et');
    expect(presentedToken(basic(':tok'))).toBe('tok');
  });
  it('has no token for anything else', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer a b', 'Basic', 'Basic !!!', basic('user-only'), basic('user:'), 'Digest x']) {
      expect(presentedToken(header)).toBeNull();
    }
  });
});

describe('EventStream', () => {
  it('hands events to a waiting reader, buffers the rest, ends once', async () => {
    const onEnd = jest.fn();
    const stream = new EventStream<number>(onEnd, 2);
    const first = stream.next();
    stream.push(1);
    expect(await first).toEqual({ value: 1, done: false });
    stream.push(2);
    stream.push(3);
    stream.push(4); // over the bound: the oldest buffered event goes
    expect(await stream.next()).toEqual({ value: 3, done: false });
    expect(await stream.next()).toEqual({ value: 4, done: false });
    const pending = stream.next();
    await stream.return();
    await stream.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(onEnd).toHaveBeenCalledTimes(1);
    stream.push(5);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
