import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AwsKmsEmulator, startAwsKmsEmulator } from './aws-kms-emulator.js';
import { signSigV4 } from './sigv4.js';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body: Json;
  requestId: string | null;
  contentType: string | null;
}

describe('AWS KMS emulator on the wire (JSON 1.1, SigV4)', () => {
  let emu: AwsKmsEmulator;
  beforeAll(async () => {
    emu = await startAwsKmsEmulator({ port: 0, region: 'us-east-1', accountId: '444455556666' });
  });
  afterAll(async () => {
    await emu.close();
  });

  async function kms(
    op: string,
    input: Json,
    o: { region?: string; service?: string; secret?: string } = {},
  ): Promise<Answer> {
    const body = Buffer.from(JSON.stringify(input));
    const url = new URL(emu.endpoint);
    const [cred] = emu.credentials;
    const headers = signSigV4(
      {
        method: 'POST',
        url: '/',
        body,
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `TrentService.${op}`,
        },
      },
      { accessKeyId: cred?.accessKeyId ?? '', secretAccessKey: o.secret ?? cred?.secretAccessKey ?? '' },
      o.region ?? 'us-east-1',
      o.service ?? 'kms',
    );
    const { host: _host, ...sendable } = headers;
    const res = await fetch(`${emu.endpoint}/`, { method: 'POST', headers: sendable, body });
    return {
      status: res.status,
      body: (await res.json()) as Json,
      requestId: res.headers.get('x-amzn-requestid'),
      contentType: res.headers.get('content-type'),
    };
  }

  async function control(name: string, input: Json = {}): Promise<Json> {
    const res = await fetch(`${emu.endpoint}/__emulator/${name}`, {
      method: 'POST',
      body: JSON.stringify(input),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  }

  async function newKey(extra: Json = {}): Promise<{ id: string; arn: string }> {
    const r = await kms('CreateKey', extra);
    expect(r.status).toBe(200);
    const md = r.body.KeyMetadata as Json;
    return { id: String(md.KeyId), arn: String(md.Arn) };
  }

  const pt = () => randomBytes(32).toString('base64');

  it('creates keys with real-looking ARNs and answers with a request id and JSON 1.1', async () => {
    const r = await kms('CreateKey', { Description: 'd' });
    expect(r.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(r.contentType).toBe('application/x-amz-json-1.1');
    expect(r.body.KeyMetadata).toMatchObject({
      AWSAccountId: '444455556666',
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      Arn: expect.stringMatching(/^arn:aws:kms:us-east-1:444455556666:key\/[0-9a-f-]{36}$/),
    });
    const mrk = await newKey({ MultiRegion: true });
    expect(mrk.id).toMatch(/^mrk-[0-9a-f]{32}$/);
    const rsa = await kms('CreateKey', { KeySpec: 'RSA_2048' });
    expect(rsa.body.__type).toBe('UnsupportedOperationException');
  });

  it('decrypts with and without KeyId and refuses the wrong KeyId with IncorrectKeyException', async () => {
    const a = await newKey();
    const b = await newKey();
    const ctx = { tenant: 't' };
    const plaintext = pt();
    const enc = await kms('Encrypt', { KeyId: a.id, Plaintext: plaintext, EncryptionContext: ctx });
    const blob = enc.body.CiphertextBlob;
    expect(enc.body.KeyId).toBe(a.arn);
    expect((await kms('Decrypt', { CiphertextBlob: blob, EncryptionContext: ctx })).body).toMatchObject({
      Plaintext: plaintext,
      KeyId: a.arn,
    });
    const wrong = await kms('Decrypt', { KeyId: b.arn, CiphertextBlob: blob, EncryptionContext: ctx });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ __type: 'IncorrectKeyException', message: expect.any(String) });
    const noCtx = await kms('Decrypt', { CiphertextBlob: blob });
    expect(noCtx.body.__type).toBe('InvalidCiphertextException');
    const garbage = await kms('Decrypt', { CiphertextBlob: randomBytes(40).toString('base64') });
    expect(garbage.body.__type).toBe('InvalidCiphertextException');
  });

  it('generates data keys, with and without plaintext, and re-encrypts', async () => {
    const a = await newKey();
    const b = await newKey();
    const gen = await kms('GenerateDataKey', {
      KeyId: a.id,
      KeySpec: 'AES_256',
      EncryptionContext: { x: '1' },
    });
    expect(Buffer.from(String(gen.body.Plaintext), 'base64')).toHaveLength(32);
    const without = await kms('GenerateDataKeyWithoutPlaintext', { KeyId: a.id, NumberOfBytes: 16 });
    expect(without.body.Plaintext).toBeUndefined();
    expect(without.body.CiphertextBlob).toEqual(expect.any(String));
    const re = await kms('ReEncrypt', {
      CiphertextBlob: gen.body.CiphertextBlob,
      SourceEncryptionContext: { x: '1' },
      DestinationKeyId: b.arn,
      DestinationEncryptionContext: { y: '2' },
    });
    expect(re.body).toMatchObject({ SourceKeyId: a.arn, KeyId: b.arn });
    const dec = await kms('Decrypt', {
      CiphertextBlob: re.body.CiphertextBlob,
      EncryptionContext: { y: '2' },
    });
    expect(dec.body.Plaintext).toBe(gen.body.Plaintext);
    const both = await kms('GenerateDataKey', { KeyId: a.id, KeySpec: 'AES_256', NumberOfBytes: 32 });
    expect(both.body.__type).toBe('ValidationException');
  });

  it('enforces key state: Disabled, PendingDeletion, cancel', async () => {
    const k = await newKey();
    await kms('DisableKey', { KeyId: k.id });
    expect((await kms('Encrypt', { KeyId: k.id, Plaintext: pt() })).body.__type).toBe('DisabledException');
    await kms('EnableKey', { KeyId: k.id });
    const sched = await kms('ScheduleKeyDeletion', { KeyId: k.arn, PendingWindowInDays: 7 });
    expect(sched.body).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect((await kms('Encrypt', { KeyId: k.id, Plaintext: pt() })).body.__type).toBe(
      'KMSInvalidStateException',
    );
    expect((await kms('EnableKey', { KeyId: k.id })).body.__type).toBe('KMSInvalidStateException');
    expect((await kms('DescribeKey', { KeyId: k.id })).body.KeyMetadata).toMatchObject({
      KeyState: 'PendingDeletion',
      DeletionDate: expect.any(Number),
    });
    await kms('CancelKeyDeletion', { KeyId: k.id });
    expect(((await kms('DescribeKey', { KeyId: k.id })).body.KeyMetadata as Json).KeyState).toBe('Disabled');
    expect((await kms('ScheduleKeyDeletion', { KeyId: k.id, PendingWindowInDays: 3 })).body.__type).toBe(
      'ValidationException',
    );
  });

  it('resolves aliases by name and ARN, refuses duplicates, and lists with pagination', async () => {
    const k = await newKey();
    expect((await kms('CreateAlias', { AliasName: 'alias/wire', TargetKeyId: k.id })).status).toBe(200);
    const dup = await kms('CreateAlias', { AliasName: 'alias/wire', TargetKeyId: k.id });
    expect(dup.body.__type).toBe('AlreadyExistsException');
    expect((await kms('CreateAlias', { AliasName: 'alias/aws/s3', TargetKeyId: k.id })).body.__type).toBe(
      'ValidationException',
    );
    for (const ref of ['alias/wire', 'arn:aws:kms:us-east-1:444455556666:alias/wire']) {
      expect(((await kms('DescribeKey', { KeyId: ref })).body.KeyMetadata as Json).KeyId).toBe(k.id);
    }
    const missing = await kms('DescribeKey', { KeyId: 'alias/none' });
    expect(missing.body.__type).toBe('NotFoundException');
    const otherAccount = await kms('DescribeKey', { KeyId: k.arn.replace('444455556666', '999999999999') });
    expect(otherAccount.body.__type).toBe('NotFoundException');
    const aliases = await kms('ListAliases', { KeyId: k.id });
    expect(aliases.body.Aliases).toEqual([
      expect.objectContaining({ AliasName: 'alias/wire', TargetKeyId: k.id }),
    ]);
    const first = await kms('ListKeys', { Limit: 1 });
    expect(first.body).toMatchObject({ Truncated: true, NextMarker: expect.any(String) });
    const next = await kms('ListKeys', { Limit: 1, Marker: first.body.NextMarker });
    expect((next.body.Keys as Json[])[0]?.KeyId).not.toBe((first.body.Keys as Json[])[0]?.KeyId);
  });

  it('keeps regions apart: the credential scope picks the region', async () => {
    const k = await newKey();
    const elsewhere = await kms('DescribeKey', { KeyId: k.id }, { region: 'eu-west-1' });
    expect(elsewhere.body.__type).toBe('NotFoundException');
  });

  it('refuses bad signatures, a wrong service scope and unknown operations', async () => {
    const bad = await kms('ListKeys', {}, { secret: 'nope' });
    expect(bad).toMatchObject({ status: 400, body: { __type: 'InvalidSignatureException' } });
    expect(bad.requestId).toBeTruthy();
    expect((await kms('ListKeys', {}, { service: 's3' })).body.__type).toBe('InvalidSignatureException');
    const unsigned = await fetch(`${emu.endpoint}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(((await unsigned.json()) as Json).__type).toBe('IncompleteSignatureException');
    expect((await kms('PutKeyPolicy', {})).body.__type).toBe('UnknownOperationException');
  });

  it('exposes the fault controls over HTTP', async () => {
    const k = await newKey();
    await control('reset');
    await control('throttleNext', { n: 2 });
    expect((await kms('DescribeKey', { KeyId: k.id })).body.__type).toBe('ThrottlingException');
    expect((await kms('DescribeKey', { KeyId: k.id })).body.__type).toBe('ThrottlingException');
    expect((await kms('DescribeKey', { KeyId: k.id })).status).toBe(200);
    expect(await control('callCount', { op: 'DescribeKey' })).toEqual({ count: 3 });
    await control('setDenied', { keyId: k.arn, denied: true });
    const denied = await kms('Encrypt', { KeyId: k.id, Plaintext: pt() });
    expect(denied.body).toMatchObject({
      __type: 'AccessDeniedException',
      message: expect.stringContaining('kms:Encrypt'),
    });
    await control('setDenied', { keyId: k.arn, denied: false });
    expect((await kms('Encrypt', { KeyId: k.id, Plaintext: pt() })).status).toBe(200);
    await control('reset');
    await control('setHang', { hang: true });
    const hung = kms('ListKeys', {}).then(
      () => 'answered',
      () => 'dropped without an answer',
    );
    while (((await control('callCount', { op: 'ListKeys' })) as { count: number }).count < 1) await sleep(5);
    // Turning the hang off drops the held requests: they are never answered.
    await control('setHang', { hang: false });
    expect(await hung).toBe('dropped without an answer');
    await control('reset');
    expect((await kms('ListKeys', {})).status).toBe(200);
    const unknown = await fetch(`${emu.endpoint}/__emulator/explode`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
  });
});
