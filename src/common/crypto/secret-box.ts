import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Encrypts secrets stored at rest (partner credentials) with AES-256-GCM under the process's
 * secret key. The output names its format version so the scheme can change later. During a key
 * rotation it also opens values sealed with the previous key; `sealedWithCurrentKey` tells which
 * values still need sealing again.
 */
export class SecretBox {
  constructor(
    private readonly key: Buffer,
    private readonly previousKey?: Buffer,
  ) {
    if (key.length !== 32 || (previousKey && previousKey.length !== 32))
      throw new Error('SecretBox needs 32-byte keys');
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  open(sealed: string): string {
    const current = this.openWith(this.key, sealed);
    if (current !== undefined) return current;
    const previous = this.previousKey && this.openWith(this.previousKey, sealed);
    if (previous === undefined) throw new Error('the secret cannot be opened with the secret key');
    return previous;
  }

  /** Whether `sealed` opens with the current key (and need not be sealed again after a rotation). */
  sealedWithCurrentKey(sealed: string): boolean {
    return this.openWith(this.key, sealed) !== undefined;
  }

  /** The plaintext, or undefined when `key` is not the one it was sealed with. */
  private openWith(key: Buffer, sealed: string): string | undefined {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || ciphertext === undefined) throw new Error('not a sealed secret');
    try {
      return this.decrypt(key, iv, tag, ciphertext);
    } catch {
      return undefined;
    }
  }

  private decrypt(key: Buffer, iv: string, tag: string, ciphertext: string): string {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }
}
