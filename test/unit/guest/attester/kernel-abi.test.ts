import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  SNP_EXT_REPORT_REQ_SIZE,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  SNP_GUEST_REQUEST_IOCTL_SIZE,
  SNP_GUEST_VMM_ERR_BUSY,
  SNP_GUEST_VMM_ERR_INVALID_LEN,
  SNP_REPORT_REQ_SIZE,
  SNP_REPORT_RESP_SIZE,
  TDX_CMD_GET_REPORT0,
  TDX_REPORT_REQ_SIZE,
} from '#guest/attester/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

// The ioctl numbers and struct layouts the attesters use must be the kernel's own: compile a
// tiny C program against the installed uapi headers and compare what it prints.
const CC = spawnSync('cc', ['--version']).status === 0;
const SEV_H = '/usr/include/linux/sev-guest.h';
const HAVE_SEV = existsSync(SEV_H);
if (!CC) console.log('kernel ABI tests skipped: no C compiler (`cc`) on PATH');
else if (!HAVE_SEV) console.log(`kernel ABI tests skipped: ${SEV_H} missing (linux-libc-dev)`);

function compileAndRun(source: string): Record<string, number> {
  const dir = tmpdir();
  try {
    writeFileSync(join(dir.path, 'abi.c'), source);
    const bin = join(dir.path, 'abi');
    const cc = spawnSync('cc', ['-std=gnu11', '-Wall', '-o', bin, join(dir.path, 'abi.c')], {
      encoding: 'utf8',
    });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    const run = spawnSync(bin, [], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`abi program failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as Record<string, number>;
  } finally {
    dir.remove();
  }
}

const SEV_PROGRAM = `
#include <stdio.h>
#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/sev-guest.h>
int main(void) {
  printf("{\\"get_report\\": %lu, \\"get_ext_report\\": %lu,", (unsigned long)SNP_GET_REPORT,
         (unsigned long)SNP_GET_EXT_REPORT);
  printf("\\"ioctl_size\\": %zu, \\"req_data\\": %zu, \\"resp_data\\": %zu, \\"exitinfo2\\": %zu,",
         sizeof(struct snp_guest_request_ioctl), offsetof(struct snp_guest_request_ioctl, req_data),
         offsetof(struct snp_guest_request_ioctl, resp_data),
         offsetof(struct snp_guest_request_ioctl, exitinfo2));
  printf("\\"vmm_error\\": %zu,", offsetof(struct snp_guest_request_ioctl, vmm_error));
  printf("\\"report_req\\": %zu, \\"vmpl\\": %zu,", sizeof(struct snp_report_req),
         offsetof(struct snp_report_req, vmpl));
  printf("\\"ext_req\\": %zu, \\"certs_address\\": %zu, \\"certs_len\\": %zu,",
         sizeof(struct snp_ext_report_req), offsetof(struct snp_ext_report_req, certs_address),
         offsetof(struct snp_ext_report_req, certs_len));
  printf("\\"resp\\": %zu, \\"invalid_len\\": %d, \\"busy\\": %d}\\n",
         sizeof(struct snp_report_resp), SNP_GUEST_VMM_ERR_INVALID_LEN, SNP_GUEST_VMM_ERR_BUSY);
  return 0;
}
`;

describe('kernel ABI of /dev/sev-guest (<linux/sev-guest.h>)', () => {
  test.skipIf(!CC || !HAVE_SEV)(
    'request numbers, struct sizes and the offsets the attester writes equal the header',
    () => {
      const k = compileAndRun(SEV_PROGRAM);
      expect(k).toEqual({
        get_report: SNP_GET_REPORT,
        get_ext_report: SNP_GET_EXT_REPORT,
        ioctl_size: SNP_GUEST_REQUEST_IOCTL_SIZE,
        req_data: 8,
        resp_data: 16,
        exitinfo2: 24,
        vmm_error: 28,
        report_req: SNP_REPORT_REQ_SIZE,
        vmpl: 64,
        ext_req: SNP_EXT_REPORT_REQ_SIZE,
        certs_address: 96,
        certs_len: 104,
        resp: SNP_REPORT_RESP_SIZE,
        invalid_len: SNP_GUEST_VMM_ERR_INVALID_LEN,
        busy: SNP_GUEST_VMM_ERR_BUSY,
      });
    },
  );
});

const TDX_H = '/usr/include/linux/tdx-guest.h';
const HAVE_TDX_H = existsSync(TDX_H);
if (CC && !HAVE_TDX_H)
  console.log(
    `${TDX_H} is not installed (Debian 12's linux-libc-dev is 6.1): TDX_CMD_GET_REPORT0 is checked against <linux/ioctl.h>'s _IOWR over the kernel's struct tdx_report_req layout instead`,
  );

// the kernel's uapi struct, used only when the header is missing
const TDX_PROGRAM = `
#include <stdio.h>
#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#if ${HAVE_TDX_H ? 1 : 0}
#include <linux/tdx-guest.h>
#else
struct tdx_report_req {
  __u8 reportdata[64];
  __u8 tdreport[1024];
};
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)
#endif
int main(void) {
  printf("{\\"get_report0\\": %lu, \\"req\\": %zu, \\"tdreport\\": %zu}\\n",
         (unsigned long)TDX_CMD_GET_REPORT0, sizeof(struct tdx_report_req),
         offsetof(struct tdx_report_req, tdreport));
  return 0;
}
`;

describe('kernel ABI of /dev/tdx_guest (<linux/tdx-guest.h>)', () => {
  test.skipIf(!CC)('TDX_CMD_GET_REPORT0 and struct tdx_report_req match', () => {
    expect(compileAndRun(TDX_PROGRAM)).toEqual({
      get_report0: TDX_CMD_GET_REPORT0,
      req: TDX_REPORT_REQ_SIZE,
      tdreport: 64,
    });
  });
});
