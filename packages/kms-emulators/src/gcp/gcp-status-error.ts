/** gRPC status names the Cloud KMS REST API reports in `error.status`. */
export type GcpStatus =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'OUT_OF_RANGE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL'
  | 'UNIMPLEMENTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED';

/** HTTP status the REST surface of Google APIs uses for each gRPC status (google.rpc.Code mapping). */
export const GCP_HTTP_STATUS: Readonly<Record<GcpStatus, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** A Cloud KMS API failure as the emulator reports it; serialised as `{"error":{code,message,status}}`. */
export class GcpStatusError extends Error {
  override readonly name = 'GcpStatusError';
  constructor(
    readonly status: GcpStatus,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status code that goes with {@link status}. */
  get httpStatus(): number {
    return GCP_HTTP_STATUS[this.status];
  }

  /** The JSON error body the real REST API sends. */
  toBody(): { error: { code: number; message: string; status: GcpStatus } } {
    return { error: { code: this.httpStatus, message: this.message, status: this.status } };
  }
}
