import type { CallContext, ServiceImpl } from '#src/protocol/ttrpc/index.js';
import {
  IPFamily,
  type CopyFileRequest,
  type Interface,
  type Route,
} from '#src/protocol/agent/index.js';
import {
  copyFileChunk,
  copyFilePolicyInput,
  parseCopyFile,
  parseInterfaceUpdate,
  parseRoutes,
  type GuestNetwork,
  type NetInterface,
  type NetRoute,
} from '#guest/network/index.js';
import type { AgentMethods } from './agent-service.js';

type Handler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
/**
 * The policy gate of agent-service.ts (asks the policy with the Kata request name first; the
 * policy sees `policyInput(req)` when given, else the request).
 */
export type Guard = <Req, Res>(
  requestName: string,
  fn: Handler<Req, Res>,
  policyInput?: (req: Req) => unknown,
) => Handler<Req, Res>;

export interface NetworkHandlerOptions {
  readonly network: GuestNetwork;
  /** Where CopyFile may write (default /run/kata-containers/shared/containers). */
  readonly copyFileRoot?: string | undefined;
}

function toWireInterface(i: NetInterface): Interface {
  return {
    device: i.name,
    name: i.name,
    IPAddresses: i.addresses.map((a) => ({
      family: a.family === 'v4' ? IPFamily.v4 : IPFamily.v6,
      address: a.address,
      mask: String(a.prefixLength),
    })),
    mtu: i.mtu,
    hwAddr: i.mac,
    pciPath: '',
    type: '',
    raw_flags: 0,
  };
}

function toWireRoute(r: NetRoute): Route {
  return { ...r, family: r.family === 'v4' ? IPFamily.v4 : IPFamily.v6 };
}

/** UpdateInterface, UpdateRoutes, ListInterfaces, ListRoutes and CopyFile, each behind the policy. */
export function createNetworkHandlers(
  guard: Guard,
  o: NetworkHandlerOptions,
): Pick<
  ServiceImpl<AgentMethods>,
  'UpdateInterface' | 'UpdateRoutes' | 'ListInterfaces' | 'ListRoutes' | 'CopyFile'
> {
  const net = o.network;
  return {
    UpdateInterface: guard('UpdateInterfaceRequest', async (req, ctx) =>
      toWireInterface(await net.updateInterface(parseInterfaceUpdate(req.interface), ctx.signal)),
    ),
    UpdateRoutes: guard('UpdateRoutesRequest', async (req, ctx) => ({
      Routes: (await net.updateRoutes(parseRoutes(req.routes?.Routes), ctx.signal)).map(
        toWireRoute,
      ),
    })),
    ListInterfaces: guard('ListInterfacesRequest', async () => ({
      Interfaces: (await net.listInterfaces()).map(toWireInterface),
    })),
    ListRoutes: guard('ListRoutesRequest', async () => ({
      Routes: (await net.listRoutes()).map(toWireRoute),
    })),
    CopyFile: guard(
      'CopyFileRequest',
      async (req: CopyFileRequest) => {
        await copyFileChunk(parseCopyFile(req, o.copyFileRoot), o.copyFileRoot);
        return {};
      },
      copyFilePolicyInput,
    ),
  };
}
