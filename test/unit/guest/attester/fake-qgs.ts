import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { SysError } from '#native/index.js';
import {
  TDREPORT_OFFSETS,
  TDX_CMD_GET_REPORT0,
  TDX_REPORTDATA_LEN,
  TDX_REPORT_REQ_SIZE,
  decodeQgsGetQuoteRequest,
  encodeQgsGetQuoteResponse,
  frameQgsMessage,
  readQgsFrame,
  type TeeDevice,
} from '#guest/attester/index.js';

/**
 * A model of the tdx-guest driver's TDX_CMD_GET_REPORT0: copies reportdata into a TDREPORT
 * (at its REPORTDATA offset) with the given MRCONFIGID and RTMRs.
 */
export function fakeTdxGuest(
  o: { mrConfigId?: Uint8Array; rtmrs?: Uint8Array[]; errno?: string } = {},
): { device: TeeDevice; reportDatas: Uint8Array[] } {
  const reportDatas: Uint8Array[] = [];
  const device: TeeDevice = {
    ioctl(_path, request, arg) {
      if (request !== TDX_CMD_GET_REPORT0 || arg.length !== TDX_REPORT_REQ_SIZE)
        return Promise.reject(new SysError('ENOTTY', 'ioctl', 'ioctl: ENOTTY'));
      if (o.errno !== undefined)
        return Promise.reject(new SysError(o.errno, 'ioctl', `ioctl: ${o.errno}`));
      const rd = arg.subarray(0, TDX_REPORTDATA_LEN);
      reportDatas.push(new Uint8Array(rd));
      const report = arg.subarray(TDX_REPORTDATA_LEN);
      report.fill(0x5a);
      report.set(rd, TDREPORT_OFFSETS.reportData);
      report.set(o.mrConfigId ?? new Uint8Array(48), TDREPORT_OFFSETS.mrConfigId);
      (o.rtmrs ?? []).forEach((r, i) => {
        report.set(r, TDREPORT_OFFSETS.rtmr0 + 48 * i);
      });
      return Promise.resolve();
    },
  };
  return { device, reportDatas };
}

/** What the fake QGS answers to one request: raw bytes to write (already framed) and whether to close. */
export type QgsBehaviour = (tdreport: Uint8Array) => { bytes: Uint8Array; close?: boolean };

export const answerQuote =
  (quote: Uint8Array, errorCode = 0): QgsBehaviour =>
  () => ({ bytes: frameQgsMessage(encodeQgsGetQuoteResponse(quote, errorCode)) });

/**
 * A Quote Generation Service on a unix socket that speaks the same framing as the host's QGS
 * over vsock (and reads requests with the client's own frame reader).
 */
export async function startFakeQgs(
  dir: string,
  behaviour: QgsBehaviour,
): Promise<{
  connect: (port: number, signal: AbortSignal) => Promise<Duplex>;
  requests: Uint8Array[];
  ports: number[];
  close(): Promise<void>;
}> {
  const path = join(dir, 'qgs.sock');
  const requests: Uint8Array[] = [];
  const ports: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    readQgsFrame(s, AbortSignal.timeout(10_000)).then(
      (msg) => {
        const tdreport = decodeQgsGetQuoteRequest(msg);
        requests.push(tdreport);
        const a = behaviour(tdreport);
        s.write(a.bytes);
        if (a.close !== false) s.end();
      },
      () => s.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    requests,
    ports,
    connect: (port) =>
      new Promise((resolve, reject) => {
        ports.push(port);
        const c = connect(path);
        c.once('connect', () => {
          resolve(c);
        });
        c.once('error', reject);
      }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
