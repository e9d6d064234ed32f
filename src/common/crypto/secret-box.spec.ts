import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed', () => {
    const sealed = box.seal('partner-password');
    expect(sealed).not.toContain('partner-password');
    expect(box.open(sealed)).toBe('partner-password');
  });

  it('seals the same secret differently each time', () => {
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });

  it('refuses a tampered secret', () => {
    const sealed = box.seal('partner-password');
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(tampered)).toThrow();
  });

  it('refuses to open with another key', () => {
    expect(() => new SecretBox(randomBytes(32)).open(box.seal('x'))).toThrow();
  });

  it('opens values sealed with the previous key during a rotation, and seals with the current one', () => {
    const oldKey = randomBytes(32);
    const sealedBefore = new SecretBox(oldKey).seal('partner-password');
    const rotated = new SecretBox(randomBytes(32), oldKey);
    expect(rotated.open(sealedBefore)).toBe('partner-password');
    expect(rotated.sealedWithCurrentKey(sealedBefore)).toBe(false);
    const resealed = rotated.seal(rotated.open(sealedBefore));
    expect(rotated.sealedWithCurrentKey(resealed)).toBe(true);
    expect(() => new SecretBox(oldKey).open(resealed)).toThrow();
  });
});
