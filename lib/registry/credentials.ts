import { randomBytes, scrypt, timingSafeEqual } from 'crypto';

// A device credential is shown once at registration; only a salted scrypt hash is kept.
const KEY_LENGTH = 32;

function scryptAsync(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export async function hashToken(token: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(token, salt);
  return `scrypt$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

// Checked against when a device has no credential, so an unknown id takes as long as a wrong token.
const DUMMY_HASH = `scrypt$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

/** Compares in constant time; false for a missing or malformed hash. */
export async function verifyToken(token: string, hash: string | undefined): Promise<boolean> {
  const [scheme, saltText, keyText] = (hash ?? DUMMY_HASH).split('$');
  if (scheme !== 'scrypt' || !saltText || !keyText) return false;
  const expected = Buffer.from(keyText, 'base64url');
  const actual = await scryptAsync(token, Buffer.from(saltText, 'base64url'));
  return hash !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
}
