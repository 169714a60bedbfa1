import { Client, credentials, Metadata, status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { abortError } from '#src/lib/index.js';
import { ImageServiceDefinition, RuntimeServiceDefinition } from '../generated/cri/api.js';
import { CriError, kindOfGrpcStatus } from './errors.js';

/** A generated message codec, as the client needs it. */
interface AnyCodec {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

interface UnaryMethod {
  readonly name: string;
  readonly requestType: AnyCodec;
  readonly responseType: AnyCodec;
  readonly requestStream: false;
  readonly responseStream: false;
}

interface UnaryService {
  readonly fullName: string;
  readonly methods: Readonly<Record<string, UnaryMethod>>;
}

type RequestOf<M> = M extends { requestType: { decode(input: Uint8Array): infer T } } ? T : never;
type ResponseOf<M> = M extends { responseType: { decode(input: Uint8Array): infer T } } ? T : never;

export interface CriCallOptions {
  /** Aborting cancels the call on the wire. */
  readonly signal?: AbortSignal | undefined;
  /** Deadline for this call; the client's default when absent. */
  readonly timeoutMs?: number | undefined;
}

/** One typed unary function per RPC, keyed by its wire name (`RunPodSandbox`). */
export type CriServiceClient<D extends UnaryService> = {
  readonly [K in keyof D['methods'] as D['methods'][K]['name']]: (
    request: RequestOf<D['methods'][K]>,
    options?: CriCallOptions,
  ) => Promise<ResponseOf<D['methods'][K]>>;
};

export type RuntimeServiceClient = CriServiceClient<typeof RuntimeServiceDefinition>;
export type ImageServiceClient = CriServiceClient<typeof ImageServiceDefinition>;

export interface CriClientOptions {
  /** The runtime's gRPC socket: an absolute path or `unix:///path`. */
  readonly address: string;
  /** Default per-call deadline; 60 s when absent. */
  readonly timeoutMs?: number | undefined;
  /** Largest response accepted; 32 MiB when absent (ExecSync returns up to 16 MiB per stream). */
  readonly maxResponseBytes?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * A unary client for the Kubernetes CRI (`runtime.v1.RuntimeService`, `runtime.v1.ImageService`)
 * over gRPC on a unix socket, as the kubelet talks to containerd. Non-OK statuses reject with a
 * CriError whose kind follows the gRPC code.
 */
export class CriClient {
  readonly runtime: RuntimeServiceClient;
  readonly image: ImageServiceClient;
  readonly #client: Client;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: CriClientOptions) {
    this.#timeoutMs = positive(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    const maxBytes = positive(
      options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      'maxResponseBytes',
    );
    this.#client = new Client(targetOf(options.address), credentials.createInsecure(), {
      'grpc.max_receive_message_length': maxBytes,
    });
    this.runtime = this.#serviceClient(RuntimeServiceDefinition);
    this.image = this.#serviceClient(ImageServiceDefinition);
  }

  /** Closes the channel; calls made afterwards reject with ERR_CRI_CLOSED. */
  close(): void {
    this.#closed = true;
    this.#client.close();
  }

  #serviceClient<D extends UnaryService>(definition: D): CriServiceClient<D> {
    const out: Record<string, unknown> = {};
    for (const m of Object.values(definition.methods)) {
      const path = `/${definition.fullName}/${m.name}`;
      out[m.name] = (request: never, opts?: CriCallOptions): Promise<unknown> =>
        this.#unary(path, m, request, opts ?? {});
    }
    return out as CriServiceClient<D>;
  }

  #unary(path: string, m: UnaryMethod, request: never, opts: CriCallOptions): Promise<unknown> {
    const { signal } = opts;
    if (this.#closed) {
      return Promise.reject(
        new CriError('unavailable', 'ERR_CRI_CLOSED', `${path}: client is closed`),
      );
    }
    if (signal?.aborted === true) return Promise.reject(abortError(signal, path));
    const timeoutMs = positive(opts.timeoutMs ?? this.#timeoutMs, 'timeoutMs');
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const call = this.#client.makeUnaryRequest(
        path,
        (value: never) => Buffer.from(m.requestType.encode(value).finish()),
        (bytes: Buffer) => m.responseType.decode(bytes),
        request,
        new Metadata(),
        { deadline },
        (err: ServiceError | null, value?: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (err === null) resolve(value);
          else
            reject(
              signal?.aborted === true
                ? abortError(signal, path)
                : statusError(path, err, timeoutMs, deadline),
            );
        },
      );
      const onAbort = (): void => {
        call.cancel();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function statusError(
  path: string,
  err: ServiceError,
  timeoutMs: number,
  deadline: number,
): CriError {
  // a DEADLINE_EXCEEDED the server sent before our deadline is its own (e.g. ExecSync's timeout)
  if (err.code === grpcStatus.DEADLINE_EXCEEDED && Date.now() >= deadline) {
    return new CriError(
      'deadline_exceeded',
      'ERR_CRI_DEADLINE',
      // a deadline the server reports (e.g. a pull timeout in the guest) keeps its reason
      err.details === '' || err.details.startsWith('Deadline exceeded')
        ? `${path}: no answer within ${timeoutMs} ms`
        : `${path}: ${err.details}`,
      {
        cause: err,
        grpcCode: err.code,
      },
    );
  }
  if (err.code === grpcStatus.CANCELLED) {
    return new CriError('cancelled', 'ERR_CRI_CANCELLED', `${path}: ${err.details}`, {
      cause: err,
      grpcCode: err.code,
    });
  }
  const detail = err.details === '' ? grpcStatus[err.code] : err.details;
  return new CriError(kindOfGrpcStatus(err.code), 'ERR_CRI_STATUS', `${path}: ${detail}`, {
    cause: err,
    grpcCode: err.code,
  });
}

function targetOf(address: string): string {
  if (address.startsWith('unix:')) return address;
  if (address.startsWith('/')) return `unix:${address}`;
  throw new CriError(
    'invalid_argument',
    'ERR_CRI_ARGUMENT',
    `CRI address ${JSON.stringify(address)} is neither an absolute socket path nor a unix: URI`,
  );
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new CriError(
      'invalid_argument',
      'ERR_CRI_ARGUMENT',
      `${name} must be a positive number, got ${value}`,
    );
  }
  return value;
}
