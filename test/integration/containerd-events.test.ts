import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Empty } from '#src/protocol/generated/google/protobuf/empty.js';
import { TaskOOM } from '#src/protocol/generated/containerd/events/task.js';
import { ForwardRequest } from '#src/protocol/generated/containerd/services/ttrpc/events/v1/events.js';
import { sleep } from '#src/lib/index.js';
import { connectUnix } from '#src/protocol/transport/index.js';
import {
  CONTAINERD_NAMESPACE_KEY,
  createTypedClient,
  defineService,
  TtrpcClient,
} from '#src/protocol/ttrpc/index.js';
import type { TypedClient } from '#src/protocol/ttrpc/index.js';
import { startContainerd } from '#test/helpers/containerd.js';
import type { Containerd } from '#test/helpers/containerd.js';

const EVENTS = defineService('containerd.services.events.ttrpc.v1.Events', {
  Forward: { requestType: ForwardRequest, responseType: Empty },
});

const hasContainerd = spawnSync('containerd', ['--version']).status === 0;
if (!hasContainerd) console.log('containerd events interop skipped: containerd is not installed');

function envelope(namespace: string, containerId: string): ForwardRequest {
  const now = Date.now();
  return {
    envelope: {
      timestamp: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
      namespace,
      topic: '/tasks/oom',
      event: {
        type_url: 'containerd.events.TaskOOM',
        value: Buffer.from(TaskOOM.encode({ container_id: containerId }).finish()),
      },
    },
  };
}

describe.skipIf(!hasContainerd)('publishing to a real containerd 1.6 over ttrpc', () => {
  let cd: Containerd;
  let raw: TtrpcClient;
  let events: TypedClient<typeof EVENTS.methods>;
  let subscriber: ChildProcessByStdio<null, Readable, Readable>;
  let seen = '';

  beforeAll(async () => {
    cd = await startContainerd({ logLevel: 'info' });
    subscriber = spawn('ctr', ['--address', cd.address, 'events'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    subscriber.stdout.on('data', (c: Buffer) => {
      seen += c.toString();
    });
    raw = new TtrpcClient(await connectUnix(cd.ttrpcAddress));
    events = createTypedClient(raw, EVENTS);
  }, 120_000);

  afterAll(async () => {
    subscriber.kill('SIGTERM');
    await raw.close();
    await cd.stop();
  });

  test('a subscriber (ctr events) sees the event our client forwards', async () => {
    // ctr gives no sign that its subscription is live: forward until one event shows up
    for (let attempt = 0; attempt < 50; attempt++) {
      const id = `kata-cc-oom-${attempt}`;
      await events.Forward(envelope('default', id), {
        timeoutMs: 5000,
        metadata: { [CONTAINERD_NAMESPACE_KEY]: 'default' },
      });
      await sleep(200);
      if (seen.includes('/tasks/oom')) break;
    }
    const line = seen.split('\n').find((l) => l.includes('/tasks/oom')) ?? '';
    expect(line, `ctr events printed: ${seen}\ncontainerd log: ${cd.log().slice(-2000)}`).toMatch(
      /default\s+\/tasks\/oom/,
    );
    expect(line).toMatch(/"container_id":"kata-cc-oom-\d+"/);
  });

  test('containerd rejects an envelope without a namespace with INVALID_ARGUMENT', async () => {
    await expect(events.Forward(envelope('', 'x'), { timeoutMs: 5000 })).rejects.toMatchObject({
      kind: 'invalid_argument',
      code: 'ERR_TTRPC_STATUS',
    });
  });
});
