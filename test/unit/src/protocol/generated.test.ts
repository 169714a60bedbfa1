import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  AgentServiceDefinition,
  CreateContainerRequest,
  HealthDefinition,
  ReseedRandomDevRequest,
  Spec,
  Storage,
  FSGroup,
  FSGroupChangePolicy,
} from '#src/protocol/agent/index.js';
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
});
