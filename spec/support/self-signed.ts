/**
 * A self-signed certificate for 127.0.0.1 and localhost (and any other host names asked
 * for), made at test time with node:crypto
 * alone (no openssl binary needed): an EC P-256 key, and an X.509 v3 certificate written
 * as DER by hand and signed with ecdsa-with-SHA256. Valid from an hour ago for a day.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const length: number[] = [];
  for (let n = body.length; n > 0; n >>= 8) length.unshift(n & 0xff);
  const header = body.length < 0x80 ? [tag, body.length] : [tag, 0x80 | length.length, ...length];
  return Buffer.concat([Buffer.from(header), body]);
}

const sequence = (...parts: Buffer[]): Buffer => der(0x30, ...parts);
const set = (...parts: Buffer[]): Buffer => der(0x31, ...parts);
const integer = (bytes: Buffer): Buffer => der(0x02, bytes);
const octets = (bytes: Buffer): Buffer => der(0x04, bytes);
const boolTrue = der(0x01, Buffer.from([0xff]));
const utcTime = (date: Date): Buffer => der(0x17, Buffer.from(`${date.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`));

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const n of rest) {
    const encoded = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) encoded.unshift((v & 0x7f) | 0x80);
    bytes.push(...encoded);
  }
  return der(0x06, Buffer.from(bytes));
}

/**
 * A PEM private key and certificate for a TLS server on 127.0.0.1, valid for 127.0.0.1 and
 * `hostNames`. Being self-signed, it is its own CA: trust it with `ca` or `NODE_EXTRA_CA_CERTS`.
 */
export function selfSignedCertificate(commonName = 'switchyard test server', hostNames: readonly string[] = ['localhost']): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const name = sequence(set(sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x3f) | 0x40; // positive, minimal
  const now = Date.now();
  const subjectAltName = sequence(
    oid('2.5.29.17'),
    octets(sequence(der(0x87, Buffer.from([127, 0, 0, 1])), ...hostNames.map((host) => der(0x82, Buffer.from(host))))),
  );
  const basicConstraints = sequence(oid('2.5.29.19'), boolTrue, octets(sequence(boolTrue)));
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, sequence(subjectAltName, basicConstraints)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature));
  const base64 = certificate.toString('base64').replace(/.{64}/g, '$&\n').trimEnd();
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`,
  };
}
