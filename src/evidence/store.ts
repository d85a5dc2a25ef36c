/** Where bundles are written: S3 or a filesystem path (src/adapters/storage implements both). */

export interface BundleFile {
  /** Relative to the incident's folder, e.g. `logs/web-1/app.log`. */
  name: string;
  body: string;
  contentType: string;
}

export interface EvidenceStore {
  /**
   * Writes the files under `key` (a folder key ending with `/`) in `container` (the bucket, or the
   * policy's directory). Writing the same files again overwrites them.
   */
  write(
    container: string,
    key: string,
    files: readonly BundleFile[],
    signal?: AbortSignal,
  ): Promise<void>;
}
