import {
  alertAction,
  ALERT_MESSAGES,
  desiredAlerts,
  humanTransition,
  maxSeverity,
  registrationConcerns,
  type GroupMember,
  type Registration,
} from '../../../src/modules/alert/key-reuse.rules';

const m = (credentialId: string, tenantId: string, kind: GroupMember['kind'] = 'API_KEY'): GroupMember => ({ credentialId, tenantId, kind });
const at = (iso: string) => new Date(iso);

describe('desiredAlerts', () => {
  it('alone: nothing', () => {
    expect(desiredAlerts(m('a', 'T1'), [m('a', 'T1')])).toEqual([]);
  });

  it('same tenant only: SAME_TENANT INFO', () => {
    const group = [m('a', 'T1'), m('b', 'T1')];
    expect(desiredAlerts(group[0], group)).toEqual([{ scope: 'SAME_TENANT', severity: 'INFO' }]);
  });

  it('another tenant, API keys: OTHER_TENANT WARNING', () => {
    const group = [m('a', 'T1'), m('b', 'T2')];
    expect(desiredAlerts(group[0], group)).toEqual([{ scope: 'OTHER_TENANT', severity: 'WARNING' }]);
  });

  it('another tenant, own OAuth token: HIGH', () => {
    const group = [m('a', 'T1', 'OAUTH_TOKEN'), m('b', 'T2')];
    expect(desiredAlerts(group[0], group)).toEqual([{ scope: 'OTHER_TENANT', severity: 'HIGH' }]);
  });

  it("severity comes from the member's own kind only: another tenant's OAuth token changes nothing", () => {
    const group = [m('a', 'T1'), m('b', 'T2', 'OAUTH_TOKEN')];
    expect(desiredAlerts(group[0], group)).toEqual([{ scope: 'OTHER_TENANT', severity: 'WARNING' }]);
    expect(desiredAlerts(group[1], group)).toEqual([{ scope: 'OTHER_TENANT', severity: 'HIGH' }]);
  });

  it('an OAuth token in the same tenant does not raise the cross-tenant severity', () => {
    const group = [m('a', 'T1'), m('b', 'T1', 'OAUTH_TOKEN'), m('c', 'T2')];
    expect(desiredAlerts(group[0], group)).toEqual([
      { scope: 'SAME_TENANT', severity: 'INFO' },
      { scope: 'OTHER_TENANT', severity: 'WARNING' },
    ]);
  });

  it('how many others hold the key changes nothing', () => {
    const two = [m('a', 'T1'), m('b', 'T2')];
    const many = [m('a', 'T1'), m('b', 'T2'), m('c', 'T3', 'OAUTH_TOKEN'), m('d', 'T4')];
    expect(desiredAlerts(many[0], many)).toEqual(desiredAlerts(two[0], two));
  });
});

describe('registrationConcerns', () => {
  const reg = (credentialId: string, tenantId: string): Registration => ({ credentialId, tenantId, registeredAt: at('2030-01-02') });
  it('own new version concerns both scopes', () => {
    expect(registrationConcerns(reg('a', 'T1'), m('a', 'T1'), 'SAME_TENANT')).toBe(true);
    expect(registrationConcerns(reg('a', 'T1'), m('a', 'T1'), 'OTHER_TENANT')).toBe(true);
  });
  it("same tenant concerns SAME_TENANT only; another tenant's registration concerns nothing of ours", () => {
    expect(registrationConcerns(reg('b', 'T1'), m('a', 'T1'), 'SAME_TENANT')).toBe(true);
    expect(registrationConcerns(reg('b', 'T1'), m('a', 'T1'), 'OTHER_TENANT')).toBe(false);
    expect(registrationConcerns(reg('c', 'T2'), m('a', 'T1'), 'SAME_TENANT')).toBe(false);
    expect(registrationConcerns(reg('c', 'T2'), m('a', 'T1'), 'OTHER_TENANT')).toBe(false);
  });
});

describe('alertAction', () => {
  const member = m('a', 'T1');
  const own: Registration = { credentialId: 'a', tenantId: 'T1', registeredAt: at('2030-01-03') };
  const ownEarlier: Registration = { ...own, registeredAt: at('2030-01-01') };
  const foreign: Registration = { credentialId: 'c', tenantId: 'T2', registeredAt: at('2030-01-03') };
  const dismissed = { status: 'DISMISSED' as const, statusChangedAt: at('2030-01-02') };
  const open = { status: 'OPEN' as const, statusChangedAt: null };

  it('creates a missing alert whoever registered (the one bit)', () => {
    expect(alertAction(null, member, 'OTHER_TENANT', foreign)).toBe('CREATE');
    expect(alertAction(null, member, 'OTHER_TENANT', null)).toBe('CREATE');
  });

  it("touches an open alert on the tenant's own event only", () => {
    expect(alertAction(open, member, 'OTHER_TENANT', own)).toBe('TOUCH');
    expect(alertAction(open, member, 'OTHER_TENANT', foreign)).toBe('NONE');
    expect(alertAction(open, member, 'OTHER_TENANT', null)).toBe('NONE'); // rescan
  });

  it("reopens a person's decision only for the tenant's own registration after it", () => {
    expect(alertAction(dismissed, member, 'OTHER_TENANT', own)).toBe('REOPEN');
    expect(alertAction({ ...dismissed, status: 'ACKNOWLEDGED' }, member, 'OTHER_TENANT', own)).toBe('REOPEN');
    expect(alertAction(dismissed, member, 'OTHER_TENANT', ownEarlier)).toBe('TOUCH');
    expect(alertAction(dismissed, member, 'OTHER_TENANT', foreign)).toBe('NONE');
    expect(alertAction(dismissed, member, 'OTHER_TENANT', null)).toBe('NONE');
  });

  it('reopens a RESOLVED alert whenever the key is shared again (the bit, for a key held anew)', () => {
    expect(alertAction({ status: 'RESOLVED', statusChangedAt: at('2030-01-05') }, member, 'OTHER_TENANT', null)).toBe('REOPEN');
  });
});

describe('humanTransition and helpers', () => {
  it('never lets a person touch a RESOLVED alert; repeats are no-ops', () => {
    expect(humanTransition('RESOLVED', 'DISMISSED')).toBe('RESOLVED');
    expect(humanTransition('OPEN', 'ACKNOWLEDGED')).toBe('CHANGE');
    expect(humanTransition('ACKNOWLEDGED', 'DISMISSED')).toBe('CHANGE');
    expect(humanTransition('DISMISSED', 'DISMISSED')).toBe('NOOP');
  });

  it('maxSeverity and messages', () => {
    expect(maxSeverity(['INFO', 'HIGH', 'WARNING'])).toBe('HIGH');
    expect(maxSeverity([])).toBe('INFO');
    expect(ALERT_MESSAGES.OTHER_TENANT).toBe('This key is also registered in another tenant.');
  });
});
