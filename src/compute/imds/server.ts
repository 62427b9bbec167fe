// The IMDS adapter: Azure's Instance Metadata Service over plain HTTP, for guests and local tools.
// Wire rules: shared/spec/scheduled-events.md §1-2 (Azure instance-metadata-service.md and
// scheduled-events.md); what real consumers send: compute-notes.md §5 (aks-node-termination-handler,
// ClusterLabs azure-events-az, the busybox agent in scripts/build-guest-image.sh).
//
// Which VM is asking? The source address is useless (slirp connects from 127.0.0.1), so:
//
//   guest ──169.254.169.254:80──► QEMU guestfwd ──busybox nc──► 127.0.0.1:<port of that VM> ─┐
//   local tool ───────────────────────────────────────────────► 127.0.0.1:<imdsPort>?vm=NAME ─┤
//                                                                                            ▼
//                                 one http.Server; req.socket.localPort → VM (or "main")
//
//   - per-VM port: opened when the VM starts, closed when it stops. The port alone says who asks;
//     anything the guest sends about itself (a `vm` query parameter included) is ignored.
//   - main port (config imdsPort, default 10169): for process-backed instances and tests, which
//     have no 169.254 path. The caller names the VM with `?vm=<name>` (or `?vm=<sub>/<rg>/<name>`
//     when the bare name is ambiguous). Only on this port; anyone on loopback can use it, which is
//     the trust model of a development cloud's loopback listeners.
//
// Not implemented (answer 404): /metadata/identity, /metadata/attested, /metadata/loadbalancer.
// Not implemented: the ~5 requests/s/VM rate limit (429); a guest polling in a tight loop is served.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { ComputeError } from '../errors.js';
import type { ScheduledEventStore } from '../events/event-store.js';
import type { VmPortRegistry } from '../service/compute-service.js';
import type { VmRecord } from '../service/model.js';
import { asText, eventsDocument, instanceDocument, isLeaf, walk, type JsonValue } from './documents.js';
import { ALL_VERSIONS, INSTANCE_VERSIONS, NEWEST_VERSIONS, SCHEDULED_EVENTS_VERSIONS } from './versions.js';

export interface ImdsVm {
  readonly key: string;
  readonly vm: VmRecord;
  /** The Scheduled Events document this VM reads (its availability set's, or its own). */
  readonly eventScope: string;
}

export interface ImdsDeps {
  readonly clock: Clock;
  readonly host: string;
  readonly events: ScheduledEventStore;
  readonly vmByKey: (key: string) => ImdsVm | undefined;
  /** Keys of VMs whose name (case-insensitive) or `<sub>/<rg>/<name>` key is `name`; main port only. */
  readonly vmsNamed: (name: string) => string[];
  readonly logger?: Logger;
}

type Reply = { status: number; body: string; contentType: 'json' | 'text' };

const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value), contentType: 'json' });
const error = (status: number, message: string): Reply => json(status, { error: message });
const BAD_API_VERSION = {
  error: 'Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds',
  'newest-versions': NEWEST_VERSIONS,
};
const INVALID_API_VERSION = {
  error: 'Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds',
  'newest-versions': NEWEST_VERSIONS,
};

interface Listener {
  readonly server: net.Server;
  readonly sockets: Set<net.Socket>;
  readonly port: number;
}

export class ImdsServer implements VmPortRegistry {
  readonly #deps: ImdsDeps;
  readonly #http: http.Server;
  /** localPort → VM key, or null for the main port. */
  readonly #ports = new Map<number, string | null>();
  readonly #byVm = new Map<string, Listener>();
  #main: Listener | null = null;

  constructor(deps: ImdsDeps) {
    this.#deps = deps;
    this.#http = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => this.#handle(req, res));
  }

  /** Starts the main listener (port 0 picks a free one); returns the port. */
  async listen(port: number): Promise<number> {
    this.#main = await this.#open(port);
    this.#ports.set(this.#main.port, null);
    return this.#main.port;
  }

  get port(): number | null {
    return this.#main?.port ?? null;
  }

  async open(vmKey: string): Promise<number> {
    await this.close(vmKey);
    const listener = await this.#open(0);
    this.#byVm.set(vmKey, listener);
    this.#ports.set(listener.port, vmKey);
    return listener.port;
  }

  async close(vmKey: string): Promise<void> {
    const listener = this.#byVm.get(vmKey);
    if (!listener) return;
    this.#byVm.delete(vmKey);
    this.#ports.delete(listener.port);
    await shut(listener);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#byVm.keys()].map((key) => this.close(key)));
    if (this.#main) await shut(this.#main);
    this.#main = null;
    this.#http.close();
  }

  #open(port: number): Promise<Listener> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      this.#http.emit('connection', socket);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.#deps.host, () => resolve({ server, sockets, port: (server.address() as AddressInfo).port }));
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let reply: Reply;
      try {
        reply = this.#route(req, Buffer.concat(chunks).toString('utf8'));
      } catch (caught) {
        reply = caught instanceof ComputeError && caught.code === 'UnknownEvent'
          ? error(400, `Bad request. Unknown EventId ${caught.details['eventId'] ?? ''}`)
          : error(500, 'Internal server error');
        if (reply.status === 500) this.#deps.logger?.log('error', 'imds-failed', { error: String(caught) });
      }
      const body = Buffer.from(reply.body, 'utf8');
      res.writeHead(reply.status, {
        'content-type': reply.contentType === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
        'content-length': body.length,
      });
      res.end(body);
    });
  }

  #route(req: http.IncomingMessage, body: string): Reply {
    const url = new URL(req.url ?? '/', 'http://169.254.169.254');
    const names = [...url.searchParams.keys()];
    if (new Set(names).size !== names.length) return error(400, 'Bad request. Query parameters must not be repeated');
    if (req.headers['x-forwarded-for'] !== undefined) return error(400, 'Bad request. Requests with X-Forwarded-For are not allowed');
    if (String(req.headers['metadata'] ?? '').toLowerCase() !== 'true') return error(400, 'Bad request. Required metadata header not specified');
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/metadata/versions') return req.method === 'GET' ? json(200, { apiVersions: ALL_VERSIONS }) : error(405, 'Method not allowed');
    const category = path === '/metadata/instance' || path.startsWith('/metadata/instance/') ? 'instance'
      : path === '/metadata/scheduledevents' ? 'scheduledevents' : null;
    if (category === null) return error(404, 'Not found');
    if (req.method !== 'GET' && !(req.method === 'POST' && category === 'scheduledevents')) return error(405, 'Method not allowed');
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null || apiVersion === '') return json(400, BAD_API_VERSION);
    const known: readonly string[] = category === 'instance' ? INSTANCE_VERSIONS : SCHEDULED_EVENTS_VERSIONS;
    if (!known.includes(apiVersion)) return json(400, INVALID_API_VERSION);
    const caller = this.#caller(req, url);
    if ('status' in caller) return caller;
    if (category === 'scheduledevents') return req.method === 'POST' ? this.#approve(caller, body) : this.#events(caller, apiVersion);
    return this.#instance(caller, apiVersion, path, url.searchParams.get('format'));
  }

  #caller(req: http.IncomingMessage, url: URL): ImdsVm | Reply {
    const owner = this.#ports.get(req.socket.localPort ?? -1);
    if (owner === undefined) return error(404, 'Not found');
    if (owner !== null) return this.#deps.vmByKey(owner) ?? error(404, 'Not found');
    const name = url.searchParams.get('vm');
    if (name === null) return error(400, 'Bad request. On the shared Nimbus IMDS port name the VM: ?vm=<name> (guests use 169.254.169.254)');
    const keys = this.#deps.vmsNamed(name);
    if (keys.length > 1) return error(400, `Bad request. VM name ${name} is ambiguous; use ?vm=<subscription>/<resourceGroup>/<name>`);
    const found = keys[0] === undefined ? undefined : this.#deps.vmByKey(keys[0]);
    return found ?? error(404, 'Not found');
  }

  #events(caller: ImdsVm, apiVersion: string): Reply {
    return json(200, eventsDocument(this.#deps.events.document(caller.eventScope), apiVersion));
  }

  /** POST StartRequests. The body is JSON whatever its Content-Type (Python urllib sends form-urlencoded). */
  #approve(caller: ImdsVm, body: string): Reply {
    let ids: string[];
    try {
      const parsed = JSON.parse(body) as { StartRequests?: unknown };
      if (!Array.isArray(parsed.StartRequests)) return error(400, 'Bad request. StartRequests is missing');
      ids = parsed.StartRequests.map((item: unknown) => {
        const id = (item as { EventId?: unknown } | null)?.EventId;
        if (typeof id !== 'string' || id === '') throw new SyntaxError('EventId');
        return id;
      });
    } catch {
      return error(400, 'Bad request. The request body is not a StartRequests document');
    }
    this.#deps.events.approve(caller.eventScope, caller.vm.name, ids, this.#deps.clock.nowMs());
    return { status: 200, body: '', contentType: 'json' };
  }

  #instance(caller: ImdsVm, apiVersion: string, path: string, format: string | null): Reply {
    const document = instanceDocument({ vm: caller.vm, privateIpAddress: '169.254.0.15', macAddress: '525400123456' }, apiVersion) as JsonValue;
    const steps = path.split('/').slice(3).filter((step) => step !== '');
    const node = walk(document, steps);
    if (node === undefined) return error(404, 'Not found');
    if (format !== null && format !== 'json' && format !== 'text') return error(400, 'Bad request. format must be json or text');
    if (format === 'text') return { status: 200, body: asText(node), contentType: 'text' };
    if (isLeaf(node)) return error(400, 'Bad request. Querying a leaf requires format=text');
    return json(200, node);
  }
}

function shut(listener: Listener): Promise<void> {
  for (const socket of listener.sockets) socket.destroy();
  return new Promise((resolve) => listener.server.close(() => resolve()));
}
