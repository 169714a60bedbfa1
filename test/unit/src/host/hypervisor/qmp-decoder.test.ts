import { describe, expect, test } from 'vitest';
import { QmpDecoder } from '#src/host/hypervisor/index.js';

const WIRE = Buffer.from(
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}\r\n' +
    '{"return": {}, "id": 1}\r\n' +
    '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}\r\n' +
    '{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}\r\n',
);

describe('QmpDecoder', () => {
  test('yields the same messages however the bytes are split', () => {
    for (let cut = 0; cut <= WIRE.length; cut++) {
      const d = new QmpDecoder();
      const msgs = [...d.push(WIRE.subarray(0, cut)), ...d.push(WIRE.subarray(cut))];
      expect(
        msgs.map((m) => m.type),
        `cut at ${cut}`,
      ).toEqual(['greeting', 'return', 'event', 'error']);
    }
  });

  test('classifies errors with their class and description', () => {
    const msgs = new QmpDecoder().push(WIRE);
    expect(msgs[3]).toEqual({
      type: 'error',
      id: 2,
      errorClass: 'CommandNotFound',
      desc: 'The command nope has not been found',
    });
    expect(msgs[2]).toMatchObject({ type: 'event', event: 'STOP' });
  });

  test('rejects a line longer than the limit before it ends', () => {
    const d = new QmpDecoder(64);
    expect(() => d.push(Buffer.alloc(65, 0x20))).toThrow(
      expect.objectContaining({ code: 'ERR_QMP_PROTOCOL' }),
    );
  });

  test.each([['not json\n'], ['[1,2]\n'], ['{"what": 1}\n']])('rejects %j', (line) => {
    expect(() => new QmpDecoder().push(Buffer.from(line))).toThrow(
      expect.objectContaining({ code: 'ERR_QMP_PROTOCOL' }),
    );
  });
});
