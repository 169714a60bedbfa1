import { describe, expect, test } from 'vitest';
import { runProgram } from '#src/lib/index.js';

describe('runProgram', () => {
  test('collects stdout and passes stdin', async () => {
    const r = await runProgram(['sh', '-c', 'cat; echo done'], { input: 'in\n' });
    expect(r).toMatchObject({ stdout: 'in\ndone\n', exitCode: 0 });
  });

  test('a non-zero exit names the command and its stderr tail', async () => {
    await expect(runProgram(['sh', '-c', 'echo bad thing >&2; exit 4'])).rejects.toThrow(
      /sh -c .* exited with 4: bad thing/,
    );
  });

  test('accepted exit codes resolve', async () => {
    expect((await runProgram(['sh', '-c', 'exit 3'], { acceptExitCodes: [3] })).exitCode).toBe(3);
  });

  test('a missing program is failed_precondition naming the package', async () => {
    await expect(
      runProgram(['/nonexistent/tool'], { debianPackage: 'tool-pkg' }),
    ).rejects.toMatchObject({
      kind: 'failed_precondition',
      code: 'ERR_PROGRAM_NOT_FOUND',
      message: expect.stringContaining('apt-get install -y tool-pkg'),
    });
  });

  test('an aborted signal kills the program and rejects with cancelled', async () => {
    const ac = new AbortController();
    const p = runProgram(['sleep', '30'], { signal: ac.signal });
    setTimeout(() => {
      ac.abort();
    }, 50);
    await expect(p).rejects.toMatchObject({ kind: 'cancelled' });
  });

  test('more stdout than maxStdout stops the program and rejects instead of truncating', async () => {
    await expect(runProgram(['yes'], { maxStdout: 4096 })).rejects.toMatchObject({
      kind: 'resource_exhausted',
      code: 'ERR_PROGRAM_OUTPUT',
      message: expect.stringContaining('more than 4096 bytes'),
    });
  });
});
