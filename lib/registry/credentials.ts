import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'crypto';

// A device credential is shown once at registration; only a salted hash is kept.
//
// A slow password hash protects secrets people can guess; tokens are 192-bit random values, so a keyed fast
// hash (HMAC-SHA256 keyed by a per-credential salt) is as safe. It takes microseconds and is synchronous, so a
// verify never queues on libuv's thread pool in front of the file store's fsyncs.
// Records written by the first release hold scrypt hashes; they still verify, and are rewritten as HMAC
// hashes by the registry on their next successful verify (see `needsRehash`).
const HMAC_SCHEME = 'hmac256';
const SCRYPT_SCHEME = 'scrypt';
const SALT_BYTES = 16;
const KEY_LENGTH = 32;
// Issued tokens are 32 characters; a longer one cannot be right, and hashing megabytes would stall the loop.
const MAX_TOKEN_LENGTH = 512;

function scryptAsync(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function hmac(token: string, salt: Buffer): Buffer {
  return createHmac('sha256', salt).update(token, 'utf8').digest();
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** `hmac256$<salt>$<hash>`, both base64url. */
export function hashToken(token: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `${HMAC_SCHEME}$${salt.toString('base64url')}$${hmac(token, salt).toString('base64url')}`;
}

/** True for a stored hash in an older scheme, to be replaced by `hashToken` once the token is known good. */
export function needsRehash(hash: string | undefined): boolean {
  return hash !== undefined && hash.startsWith(`${SCRYPT_SCHEME}$`);
}

// Checked against when a device has no credential, so an unknown id does the same work as a wrong token.
const DUMMY_HASH = `${HMAC_SCHEME}$${Buffer.alloc(SALT_BYTES).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

/** Compares in constant time; false for a missing or malformed hash. Only old scrypt hashes use the thread pool. */
export async function verifyToken(token: string, hash: string | undefined): Promise<boolean> {
  const [scheme, saltText, keyText, extra] = (hash ?? DUMMY_HASH).split('$');
  if (!saltText || !keyText || extra !== undefined || token.length > MAX_TOKEN_LENGTH) return false;
  const salt = Buffer.from(saltText, 'base64url');
  let actual: Buffer;
  if (scheme === HMAC_SCHEME) actual = hmac(token, salt);
  else if (scheme === SCRYPT_SCHEME) actual = await scryptAsync(token, salt);
  else return false;
  const expected = Buffer.from(keyText, 'base64url');
  return hash !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
}
