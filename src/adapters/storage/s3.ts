/**
 * Evidence bundles in S3 (or any S3-compatible store). Each file is one PutObject with the
 * configured server-side encryption. Access denied and missing buckets are terminal; throttling
 * (503 SlowDown, 429) is retried later; other failures are retried with backoff.
 */
import {
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { RetryLaterError, TerminalEffectError } from '../../effects/errors.ts';
import type { BundleFile, EvidenceStore } from '../../evidence/store.ts';

export type ServerSideEncryption = 'none' | 'AES256' | 'aws:kms';

export interface S3ClientOptions {
  region?: string | undefined;
  /** For S3-compatible stores (MinIO, Ceph…): their URL. */
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
  /** Static credentials; unset: the SDK's default chain (IRSA, instance profile, environment). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  const config: S3ClientConfig = {
    // Checksums only where S3 requires them: S3-compatible stores often do not know the newer ones.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (options.region !== undefined) config.region = options.region;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
    config.credentials = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
    };
  }
  return new S3Client(config);
}

export interface S3EvidenceStoreOptions {
  client: S3Client;
  serverSideEncryption?: ServerSideEncryption;
  /** For aws:kms: the key; unset uses the bucket's default KMS key. */
  kmsKeyId?: string | undefined;
}

function classify(error: unknown, what: string): Error {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    if (error.name === 'NoSuchBucket' || status === 404) {
      return new TerminalEffectError('not-found', `${what}: the bucket does not exist`, {
        cause: error,
      });
    }
    if (status === 403 || error.name === 'AccessDenied') {
      return new TerminalEffectError('forbidden', `${what}: access denied (${error.message})`, {
        cause: error,
      });
    }
    if (status === 429 || status === 503 || error.name === 'SlowDown') {
      return new RetryLaterError(`${what}: S3 asked to slow down`, 5_000, { cause: error });
    }
    return new Error(
      `${what} failed: ${error.name}${status === undefined ? '' : ` (HTTP ${status})`}`,
      {
        cause: error,
      },
    );
  }
  return new Error(`${what} failed`, { cause: error });
}

export class S3EvidenceStore implements EvidenceStore {
  private readonly options: S3EvidenceStoreOptions;

  constructor(options: S3EvidenceStoreOptions) {
    this.options = options;
  }

  async write(
    bucket: string,
    key: string,
    files: readonly BundleFile[],
    signal?: AbortSignal,
  ): Promise<void> {
    for (const file of files) {
      const input: PutObjectCommandInput = {
        Bucket: bucket,
        Key: `${key}${file.name}`,
        Body: file.body,
        ContentType: file.contentType,
      };
      const sse = this.options.serverSideEncryption ?? 'AES256';
      if (sse !== 'none') input.ServerSideEncryption = sse;
      if (sse === 'aws:kms' && this.options.kmsKeyId !== undefined)
        input.SSEKMSKeyId = this.options.kmsKeyId;
      try {
        await this.options.client.send(
          new PutObjectCommand(input),
          signal === undefined ? {} : { abortSignal: signal },
        );
      } catch (error) {
        throw classify(error, `write s3://${bucket}/${key}${file.name}`);
      }
    }
  }
}
