import { join } from 'node:path';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CriClient,
  CriError,
  ImageSpec,
  PodSandboxStatusRequest,
  PullImageRequest,
  PullImageResponse,
  VersionRequest,
  VersionResponse,
  ExecSyncRequest,
  ExecSyncResponse,
} from '#src/protocol/cri/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

function method<Req, Res>(path: string, req: Codec<Req>, res: Codec<Res>) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req) => Buffer.from(req.encode(v).finish()),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (v: Res) => Buffer.from(res.encode(v).finish()),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

const runtimeService = {
  Version: method('/runtime.v1.RuntimeService/Version', VersionRequest, VersionResponse),
  PodSandboxStatus: method(
    '/runtime.v1.RuntimeService/PodSandboxStatus',
    PodSandboxStatusRequest,
    VersionResponse,
  ),
  ExecSync: method('/runtime.v1.RuntimeService/ExecSync', ExecSyncRequest, ExecSyncResponse),
} as unknown as ServiceDefinition;
const imageService = {
  PullImage: method('/runtime.v1.ImageService/PullImage', PullImageRequest, PullImageResponse),
} as unknown as ServiceDefinition;

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;

describe('CriClient against a gRPC server', () => {
  const dir = tmpdir('kata-cc-cri-');
  const socket = join(dir.path, 'cri.sock');
  const server = new Server();
  const seen: { version?: VersionRequest; pull?: PullImageRequest } = {};

  beforeAll(async () => {
    const version: Unary<VersionRequest, VersionResponse> = (call, cb) => {
      seen.version = call.request;
      cb(
        null,
        VersionResponse.create({
          version: '0.1.0',
          runtime_name: 'fake',
          runtime_api_version: 'v1',
        }),
      );
    };
    const sandboxStatus: Unary<PodSandboxStatusRequest, VersionResponse> = (call, cb) => {
      cb({ code: status.NOT_FOUND, details: `sandbox ${call.request.pod_sandbox_id} not found` });
    };
    const execSync: Unary<ExecSyncRequest, ExecSyncResponse> = (call, cb) => {
      // the runtime's own timeout (containerd: "timeout 2s exceeded: context deadline exceeded")
      if (call.request.cmd[0] === 'timeout')
        cb({ code: status.DEADLINE_EXCEEDED, details: 'timeout 2s exceeded' });
      // otherwise never answers: the client's deadline or signal must end the call
    };
    const pull: Unary<PullImageRequest, PullImageResponse> = (call, cb) => {
      seen.pull = call.request;
      cb(null, { image_ref: 'sha256:abc' });
    };
    server.addService(runtimeService, {
      Version: version,
      PodSandboxStatus: sandboxStatus,
      ExecSync: execSync,
    });
    server.addService(imageService, { PullImage: pull });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.tryShutdown(() => {
        resolve();
      });
    });
    dir.remove();
  });

  test('Version sends the request and decodes the response', async () => {
    const client = new CriClient({ address: socket });
    try {
      const res = await client.runtime.Version(VersionRequest.create({ version: 'v1' }));
      expect(res.runtime_name).toBe('fake');
      expect(seen.version?.version).toBe('v1');
    } finally {
      client.close();
    }
  });

  test('ImageService calls go to /runtime.v1.ImageService', async () => {
    const client = new CriClient({ address: `unix://${socket}` });
    try {
      const res = await client.image.PullImage(
        PullImageRequest.create({ image: ImageSpec.create({ image: 'localhost/busybox:1' }) }),
      );
      expect(res.image_ref).toBe('sha256:abc');
      expect(seen.pull?.image?.image).toBe('localhost/busybox:1');
    } finally {
      client.close();
    }
  });

  test('a NOT_FOUND status rejects with kind not_found and the status details', async () => {
    const client = new CriClient({ address: socket });
    try {
      const err: unknown = await client.runtime
        .PodSandboxStatus(PodSandboxStatusRequest.create({ pod_sandbox_id: 'p9' }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CriError);
      expect(err).toMatchObject({
        kind: 'not_found',
        code: 'ERR_CRI_STATUS',
        grpcCode: status.NOT_FOUND,
      });
      expect((err as CriError).message).toContain('sandbox p9 not found');
    } finally {
      client.close();
    }
  });

  test('aborting the signal cancels a call that gets no answer', async () => {
    const client = new CriClient({ address: socket });
    try {
      const ac = new AbortController();
      const p = client.runtime.ExecSync(ExecSyncRequest.create({ container_id: 'c' }), {
        signal: ac.signal,
      });
      setTimeout(() => {
        ac.abort();
      }, 50);
      await expect(p).rejects.toMatchObject({ kind: 'cancelled' });
    } finally {
      client.close();
    }
  });

  test('a call without an answer fails with deadline_exceeded after timeoutMs', async () => {
    const client = new CriClient({ address: socket, timeoutMs: 100 });
    try {
      await expect(client.runtime.ExecSync(ExecSyncRequest.create({}))).rejects.toMatchObject({
        kind: 'deadline_exceeded',
        code: 'ERR_CRI_DEADLINE',
      });
    } finally {
      client.close();
    }
  });

  test("a server's own deadline_exceeded keeps its message", async () => {
    const client = new CriClient({ address: socket, timeoutMs: 10_000 });
    try {
      await expect(
        client.runtime.ExecSync(ExecSyncRequest.create({ cmd: ['timeout'] })),
      ).rejects.toMatchObject({
        kind: 'deadline_exceeded',
        code: 'ERR_CRI_STATUS',
        message: expect.stringContaining('timeout 2s exceeded'),
      });
    } finally {
      client.close();
    }
  });

  test('an RPC the server lacks answers unimplemented', async () => {
    const client = new CriClient({ address: socket });
    try {
      await expect(client.runtime.ListContainers({})).rejects.toMatchObject({
        kind: 'unimplemented',
      });
    } finally {
      client.close();
    }
  });

  test('an unreachable socket gives unavailable', async () => {
    const client = new CriClient({ address: join(dir.path, 'missing.sock'), timeoutMs: 2000 });
    try {
      await expect(client.runtime.Version(VersionRequest.create({}))).rejects.toMatchObject({
        kind: 'unavailable',
      });
    } finally {
      client.close();
    }
  });

  test('a closed client and bad options are rejected with clear errors', async () => {
    expect(() => new CriClient({ address: 'localhost:1234' })).toThrow(
      /neither an absolute socket path/,
    );
    expect(() => new CriClient({ address: socket, timeoutMs: 0 })).toThrow(
      /timeoutMs must be a positive/,
    );
    const client = new CriClient({ address: socket });
    client.close();
    await expect(client.runtime.Version(VersionRequest.create({}))).rejects.toMatchObject({
      code: 'ERR_CRI_CLOSED',
    });
  });
});
