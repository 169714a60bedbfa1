import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { NULL_LOGGER, describeError, type Logger } from '#src/lib/index.js';
import { KBS_PREFIX, KBS_SESSION_COOKIE } from '#src/protocol/kbs/index.js';
import { KbsError } from './errors.js';
import { cookieValue, parseJsonBody, readBody } from './http-body.js';
import { errorBody, httpFailureOf } from './http-errors.js';
import type { AdminAuth } from './admin-auth.js';
import type { KbsHandlers } from './kbs-handlers.js';
import { SESSION_TTL_MS } from './session-store.js';

/** Body limits per endpoint (bytes). */
export const KBS_LIMITS = {
  auth: 16 << 10,
  attest: 1 << 20,
  policy: 512 << 10,
  referenceValue: 256 << 10,
  resource: 1 << 20,
} as const;

export interface KbsServerOptions {
  readonly handlers: KbsHandlers;
  readonly admin: AdminAuth;
  /** JWK of the token signing key, published at GET /kbs/v0/token-key. */
  readonly tokenKey: unknown;
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  readonly log?: Logger | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, rest: string) => Promise<void>;

/** The KBS HTTP(S) edge: routing, framing, limits, and CcError → status + ErrorInformation. */
export class KbsServer {
  readonly #o: KbsServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #inflight = new Set<AbortController>();

  constructor(options: KbsServerOptions) {
    this.#o = options;
    this.#log = (options.log ?? NULL_LOGGER).child({ subsystem: 'kbs-http' });
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#dispatch(req, res);
    };
    this.#server = options.tls
      ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
      : createHttpServer(listener);
    this.#server.requestTimeout = 60_000;
    this.#server.headersTimeout = 15_000;
    this.#server.maxHeadersCount = 64;
  }

  get isTls(): boolean {
    return this.#o.tls !== undefined;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting, cancels in-flight verifications, resolves when the server is closed. */
  close(): Promise<void> {
    for (const c of this.#inflight) c.abort();
    return new Promise((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }

  #route(method: string, path: string): { handler: Handler; rest: string } | undefined {
    const h = this.#o.handlers;
    const exact: Record<string, Handler | undefined> = {
      'POST /auth': (req, res) => this.#auth(req, res),
      'POST /attest': (req, res) => this.#attest(req, res),
      'GET /token-key': (_req, res) => {
        sendJson(res, 200, this.#o.tokenKey);
        return Promise.resolve();
      },
      'POST /attestation-policy': async (req, res) => {
        this.#o.admin.check(req.headers.authorization, adminPath(req));
        await h.setAttestationPolicy(
          parseJsonBody(await readBody(req, KBS_LIMITS.policy), 'attestation-policy'),
        );
        sendEmpty(res);
      },
      'POST /resource-policy': async (req, res) => {
        this.#o.admin.check(req.headers.authorization, adminPath(req));
        await h.setResourcePolicy(
          parseJsonBody(await readBody(req, KBS_LIMITS.policy), 'resource-policy'),
        );
        sendEmpty(res);
      },
      'POST /reference-value': async (req, res) => {
        this.#o.admin.check(req.headers.authorization, adminPath(req));
        await h.setReferenceValue(
          parseJsonBody(await readBody(req, KBS_LIMITS.referenceValue), 'reference-value'),
        );
        sendEmpty(res);
      },
      'GET /resources': async (req, res) => {
        this.#o.admin.check(req.headers.authorization, adminPath(req));
        sendJson(res, 200, await h.listResources());
      },
    };
    const e = exact[`${method} ${path}`];
    if (e) return { handler: e, rest: '' };
    if (path.startsWith('/resource/')) {
      const rest = path.slice('/resource/'.length);
      if (method === 'GET')
        return { handler: (req, res, p) => this.#getResource(req, res, p), rest };
      if (method === 'POST')
        return {
          handler: async (req, res, p) => {
            this.#o.admin.check(req.headers.authorization, adminPath(req));
            await h.setResource(checkResourcePath(p), await readBody(req, KBS_LIMITS.resource));
            sendEmpty(res);
          },
          rest,
        };
    }
    return undefined;
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    try {
      if (!path.startsWith(`${KBS_PREFIX}/`))
        throw new KbsError(
          'not_found',
          'ERR_KBS_PATH',
          `request path ${path.slice(0, 200)} is invalid`,
        );
      const sub = path.slice(KBS_PREFIX.length);
      const route = this.#route(req.method ?? 'GET', sub);
      if (!route) {
        const plugin = sub.split('/')[1] ?? '';
        const known = [
          'auth',
          'attest',
          'resource',
          'attestation-policy',
          'resource-policy',
          'reference-value',
          'resources',
          'token-key',
        ];
        throw known.includes(plugin)
          ? new KbsError(
              'not_found',
              'ERR_KBS_PATH',
              `request path ${path.slice(0, 200)} is invalid for ${req.method ?? ''}`,
            )
          : new KbsError(
              'not_found',
              'ERR_KBS_PLUGIN_NOT_FOUND',
              `Plugin ${plugin.slice(0, 64)} not found`,
            );
      }
      await route.handler(req, res, decodePath(route.rest));
    } catch (err) {
      const f = httpFailureOf(err);
      this.#log.warn('request failed', {
        method: req.method,
        path: path.slice(0, 200),
        status: f.status,
        variant: f.variant,
        error: describeError(err),
      });
      const tooLarge = err instanceof KbsError && err.code === 'ERR_KBS_BODY_TOO_LARGE';
      if (!res.headersSent)
        sendJson(res, f.status, errorBody(err, f), tooLarge ? { connection: 'close' } : {});
      if (tooLarge) req.resume();
    }
  }

  async #auth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseJsonBody(await readBody(req, KBS_LIMITS.auth), 'auth');
    const { session, challenge } = this.#o.handlers.auth(body);
    sendJson(
      res,
      200,
      { nonce: challenge.nonce, 'extra-params': challenge.extraParams },
      { 'set-cookie': sessionCookie(session.id, this.isTls) },
    );
  }

  async #attest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = cookieValue(req, KBS_SESSION_COOKIE);
    const body = parseJsonBody(await readBody(req, KBS_LIMITS.attest), 'attest');
    const ctl = new AbortController();
    this.#inflight.add(ctl);
    const onClose = (): void => {
      if (!res.writableFinished) ctl.abort();
    };
    res.once('close', onClose);
    try {
      const token = await this.#o.handlers.attest(sessionId, body, ctl.signal);
      sendJson(
        res,
        200,
        { token },
        sessionId ? { 'set-cookie': sessionCookie(sessionId, this.isTls) } : {},
      );
    } finally {
      this.#inflight.delete(ctl);
      res.off('close', onClose);
    }
  }

  async #getResource(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const checked = checkResourcePath(path);
    const caller = await this.#o.handlers.caller(
      cookieValue(req, KBS_SESSION_COOKIE),
      req.headers.authorization,
    );
    sendJson(res, 200, await this.#o.handlers.getResource(checked, caller));
  }
}

/** The request path an admin ACL rule is matched against (query string dropped). */
function adminPath(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function decodePath(rest: string): string {
  try {
    return decodeURIComponent(rest);
  } catch {
    throw new KbsError('not_found', 'ERR_KBS_PATH', 'request path is not valid percent-encoding');
  }
}

function checkResourcePath(path: string): string {
  const parts = path.split('/');
  if (
    parts.length !== 3 ||
    !parts.every((p) => /^[A-Za-z0-9._-]{1,128}$/.test(p) && p !== '.' && p !== '..')
  )
    throw new KbsError(
      'not_found',
      'ERR_KBS_PATH',
      `resource path ${JSON.stringify(path.slice(0, 200))}: expected <repository>/<type>/<tag>`,
    );
  return path;
}

function sessionCookie(id: string, secure: boolean): string {
  return `${KBS_SESSION_COOKIE}=${id}; Max-Age=${String(SESSION_TTL_MS / 1000)}; Path=${KBS_PREFIX}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendEmpty(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': 0 });
  res.end();
}
