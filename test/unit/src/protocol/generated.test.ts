import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  AgentServiceDefinition,
  agentService,
  CreateContainerRequest,
  Empty,
  HealthDefinition,
  ReseedRandomDevRequest,
  Spec,
  Storage,
  FSGroup,
  FSGroupChangePolicy,
} from '#src/protocol/agent/index.js';
import {
  Any,
  BootstrapParams,
  BootstrapResult,
  CgroupV2Metrics,
  CreateTaskRequest,
  Envelope,
  ForwardRequest,
  RuntimeOptions,
  StateResponse,
  TASK_EVENTS,
  TaskDefinition,
  TaskExit,
  TaskStatus,
  TaskV3Definition,
  taskServiceV3,
  taskV3,
} from '#src/protocol/shim/index.js';
import {
  AttestationAgentServiceDefinition,
  CdhKeyProviderServiceDefinition,
  ExtendRuntimeMeasurementRequest,
  GetResourceRequest,
  ImagePullServiceDefinition,
  KeyProviderKeyWrapProtocolInput,
  KeyProviderServiceDefinition,
} from '#src/protocol/cdh/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

describe('generated protocol code', () => {
  test('regenerating from the .proto files reproduces the committed output', () => {
    const r = spawnSync(
      process.execPath,
      [join(PROJECT_ROOT, 'src/host/setup/gen.mjs'), '--check'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toContain('up to date');
    expect(r.status).toBe(0);
  });
});

describe('Kata agent API', () => {
  test('a CreateContainerRequest with an OCI spec and storages round-trips', () => {
    const req = CreateContainerRequest.create({
      container_id: 'c1',
      exec_id: 'c1',
      storages: [
        Storage.create({
          driver: 'image_guest_pull',
          source: 'registry.local/busybox:1',
          mount_point: '/run/kata-containers/c1/rootfs',
          fs_group: { group_id: 1000, group_change_policy: FSGroupChangePolicy.OnRootMismatch },
        }),
      ],
      OCI: {
        Version: '1.1.0',
        Process: {
          Args: ['/bin/sh', '-c', 'echo hi'],
          Env: ['PATH=/bin'],
          Cwd: '/',
          User: { UID: 0 },
        },
        Annotations: { 'io.kubernetes.cri.container-type': 'container' },
        Linux: {
          Resources: { Memory: { Limit: -1 } },
          Seccomp: {
            Syscalls: [{ Names: ['ptrace'], ErrnoRet: { $case: 'errnoret', errnoret: 1 } }],
          },
        },
      },
      stdin_port: 7,
    });
    const bytes = CreateContainerRequest.encode(req).finish();
    const back = CreateContainerRequest.decode(bytes);
    expect(back).toEqual(req);
    expect(back.OCI?.Process?.Args).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(back.OCI?.Linux?.Resources?.Memory?.Limit).toBe(-1);
  });

  test('container_id is field 1 and OCI is field 6 of CreateContainerRequest', () => {
    // 0x0a = field 1, length-delimited; 0x32 = field 6, length-delimited; Spec.Version is field 1
    const bytes = Uint8Array.from([0x0a, 0x02, 0x63, 0x31, 0x32, 0x03, 0x0a, 0x01, 0x31]);
    const req = CreateContainerRequest.decode(bytes);
    expect(req.container_id).toBe('c1');
    expect(req.OCI?.Version).toBe('1');
  });

  test('Spec keeps the upstream CamelCase field names and numbers', () => {
    const bytes = Spec.encode(Spec.create({ Hostname: 'h' })).finish();
    expect(Array.from(bytes)).toEqual([0x22, 0x01, 0x68]); // Hostname = field 4
  });

  test('fields upstream left unnumbered at 1 stay at 2', () => {
    expect(Array.from(ReseedRandomDevRequest.encode({ data: Buffer.from([9]) }).finish())).toEqual([
      0x12, 0x01, 0x09,
    ]);
    expect(Array.from(FSGroup.encode(FSGroup.create({ group_id: 5 })).finish())).toEqual([
      0x10, 0x05,
    ]);
  });

  test('the service descriptors carry the fully qualified ttrpc names', () => {
    expect(AgentServiceDefinition.fullName).toBe('grpc.AgentService');
    expect(AgentServiceDefinition.methods.createContainer.name).toBe('CreateContainer');
    expect(Object.keys(AgentServiceDefinition.methods)).toHaveLength(40);
    expect(HealthDefinition.fullName).toBe('grpc.Health');
  });

  test('the ttrpc service description is keyed by wire method name', () => {
    expect(agentService.name).toBe('grpc.AgentService');
    expect(agentService.methods.CreateContainer.requestType).toBe(CreateContainerRequest);
    expect(agentService.methods.CreateContainer.responseType).toBe(Empty);
    expect(agentService.methods.CreateContainer.streaming).toBeUndefined();
    expect(taskServiceV3.methods.Events.streaming).toBe('server');
  });
});

describe('containerd shim API', () => {
  test('a CreateTaskRequest with rootfs mounts and runtime options round-trips', () => {
    const options = RuntimeOptions.create({ config_path: '/etc/kata-cc/configuration.toml' });
    const req = CreateTaskRequest.create({
      id: 'pod1',
      bundle: '/run/containerd/io.containerd.runtime.v2.task/default/pod1',
      rootfs: [{ type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/a'] }],
      stdout: '/run/fifo/out',
      options: {
        type_url: 'runtimeoptions.v1.Options',
        value: Buffer.from(RuntimeOptions.encode(options).finish()),
      },
    });
    const back = CreateTaskRequest.decode(CreateTaskRequest.encode(req).finish());
    expect(back).toEqual(req);
    expect(RuntimeOptions.decode(back.options?.value ?? new Uint8Array()).config_path).toBe(
      '/etc/kata-cc/configuration.toml',
    );
  });

  test('a TaskExit travels inside an Envelope of a ForwardRequest', () => {
    const exit = TaskExit.create({ container_id: 'c1', id: 'c1', pid: 42, exit_status: 137 });
    const env = Envelope.create({
      timestamp: { seconds: 1_800_000_000, nanos: 5 },
      namespace: 'k8s.io',
      topic: TASK_EVENTS.TaskExit.topic,
      event: Any.create({
        type_url: TASK_EVENTS.TaskExit.typeUrl,
        value: Buffer.from(TaskExit.encode(exit).finish()),
      }),
    });
    const wire = ForwardRequest.encode({ envelope: env }).finish();
    const back = ForwardRequest.decode(wire).envelope;
    expect(back).toEqual(env);
    expect(TaskExit.decode(back?.event?.value ?? new Uint8Array())).toEqual(exit);
  });

  test('Envelope fields are timestamp 1, namespace 2, topic 3, event 4', () => {
    const bytes = Envelope.encode(
      Envelope.create({
        namespace: 'n',
        topic: 't',
        event: { type_url: 'u', value: Buffer.alloc(0) },
      }),
    ).finish();
    expect(Array.from(bytes)).toEqual([
      0x12, 0x01, 0x6e, 0x1a, 0x01, 0x74, 0x22, 0x03, 0x0a, 0x01, 0x75,
    ]);
  });

  test('StateResponse status is the containerd.v1.types.Status enum at field 4', () => {
    const r = StateResponse.decode(Uint8Array.from([0x20, 0x02]));
    expect(r.status).toBe(TaskStatus.RUNNING);
  });

  test('task API v2 and v3 carry all upstream RPCs under their qualified names', () => {
    expect(TaskDefinition.fullName).toBe('containerd.task.v2.Task');
    expect(Object.values(TaskDefinition.methods).map((m) => m.name)).toEqual([
      'State',
      'Create',
      'Start',
      'Delete',
      'Pids',
      'Pause',
      'Resume',
      'Checkpoint',
      'Kill',
      'Exec',
      'ResizePty',
      'CloseIO',
      'Update',
      'Wait',
      'Stats',
      'Connect',
      'Shutdown',
    ]);
    expect(TaskV3Definition.fullName).toBe('containerd.task.v3.Task');
    expect(TaskV3Definition.methods.events.responseStream).toBe(true);
    // v3 has no oom_path: field 11 is skipped as unknown
    expect(taskV3.CreateTaskRequest.decode(Uint8Array.from([0x5a, 0x01, 0x78])).id).toBe('');
  });

  test('bootstrap messages keep their field numbers', () => {
    // log_level -4 (LOG_LEVEL_DEBUG): negative enums are 10-byte sign-extended varints
    const minus4 = [0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const p = BootstrapParams.decode(Uint8Array.from([0x0a, 0x01, 0x78, 0x18, ...minus4]));
    expect(p.instance_id).toBe('x');
    expect(p.log_level).toBe(-4);
    expect(Array.from(BootstrapParams.encode(p).finish())).toEqual([
      0x0a,
      0x01,
      0x78,
      0x18,
      ...minus4,
    ]);
    const r = BootstrapResult.create({ version: 3, address: 'unix:///s', protocol: 'ttrpc' });
    expect(BootstrapResult.decode(BootstrapResult.encode(r).finish())).toEqual(r);
  });

  test('cgroup v2 Metrics puts memory at field 4', () => {
    const m = CgroupV2Metrics.decode(Uint8Array.from([0x22, 0x03, 0x80, 0x02, 0x07]));
    expect(m.memory?.usage).toBe(7);
  });
});

describe('guest-components APIs', () => {
  test('the attestation-agent, CDH and keyprovider services have their upstream names', () => {
    expect(AttestationAgentServiceDefinition.fullName).toBe(
      'attestation_agent.AttestationAgentService',
    );
    expect(Object.values(AttestationAgentServiceDefinition.methods).map((m) => m.name)).toEqual([
      'GetEvidence',
      'GetAdditionalEvidence',
      'GetToken',
      'ExtendRuntimeMeasurement',
      'BindInitData',
      'GetTeeType',
    ]);
    expect(ImagePullServiceDefinition.fullName).toBe('api.ImagePullService');
    expect(CdhKeyProviderServiceDefinition.fullName).toBe('api.KeyProviderService');
    expect(KeyProviderServiceDefinition.fullName).toBe('keyprovider.KeyProviderService');
    expect(Object.values(KeyProviderServiceDefinition.methods).map((m) => m.name)).toEqual([
      'WrapKey',
      'UnWrapKey',
    ]);
  });

  test('an unset optional RegisterIndex differs from register 0', () => {
    const unset = ExtendRuntimeMeasurementRequest.create({
      Domain: 'd',
      Operation: 'o',
      Content: 'c',
    });
    const zero = ExtendRuntimeMeasurementRequest.create({ ...unset, RegisterIndex: 0 });
    const back = (m: typeof unset) =>
      ExtendRuntimeMeasurementRequest.decode(ExtendRuntimeMeasurementRequest.encode(m).finish());
    expect(back(unset).RegisterIndex).toBeUndefined();
    expect(back(zero).RegisterIndex).toBe(0);
  });

  test('CDH and keyprovider byte layouts match upstream field numbers', () => {
    expect(GetResourceRequest.decode(Uint8Array.from([0x0a, 0x01, 0x72])).ResourcePath).toBe('r');
    const input = KeyProviderKeyWrapProtocolInput.decode(Uint8Array.from([0x0a, 0x02, 0x7b, 0x7d]));
    expect(input.KeyProviderKeyWrapProtocolInput.toString()).toBe('{}');
  });
});
