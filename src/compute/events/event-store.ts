// ScheduledEventStore: the Scheduled Events documents guests read through IMDS, and their approvals.
// Wire facts: shared/spec/scheduled-events.md §2 (Azure's linux/scheduled-events.md).
//
// A *scope* is what one document is shared by: an availability set (every VM of the set sees every
// event of the set, and filters by `Resources`), or a single VM outside any set. Each scope has its
// own DocumentIncarnation, starting at 1 for the empty document and incremented on every change to
// its Events array (publish, status change, removal), so "same incarnation => same content" holds
// per document.
//
//   publish ──► Scheduled ──start()──► Started (NotBefore "") ──remove()──► (gone; there is no Completed)
//
// Approvals: a POST StartRequests from a VM names EventIds. An id this VM's scope does not hold is
// refused (UnknownEvent: IMDS answers 400), so one VM can never approve another set's events. An
// approval is recorded with the approving VM's name; whether it is enough to start the event is
// the orchestrator's call (approvalPolicy), not the store's. Approving an event twice, or one
// already Started, is accepted and changes nothing (Azure answers 200 there too).
//
// State is in memory: events only matter while the VMs they name are running, and no VM survives
// a server restart (see service/definitions.ts).
import { newGuid } from '../../platform/ids.js';
import { ComputeError } from '../errors.js';

export type EventType = 'Freeze' | 'Reboot' | 'Redeploy' | 'Preempt' | 'Terminate';

export interface ScheduledEvent {
  readonly eventId: string;
  readonly scope: string;
  readonly eventType: EventType;
  readonly resources: readonly string[];
  readonly status: 'Scheduled' | 'Started';
  readonly notBeforeMs: number;
  readonly description: string;
  readonly eventSource: 'Platform' | 'User';
  readonly durationInSeconds: number;
  readonly publishedMs: number;
  /** Which VMs approved it, first approval first. */
  readonly approvals: readonly { readonly vmName: string; readonly atMs: number }[];
}

export interface EventDocument {
  readonly incarnation: number;
  readonly events: readonly ScheduledEvent[];
}

export interface NewEvent {
  readonly scope: string;
  readonly eventType: EventType;
  readonly resources: readonly string[];
  readonly notBeforeMs: number;
  readonly description: string;
  readonly eventSource: 'Platform' | 'User';
  readonly durationInSeconds: number;
}

interface ScopeDocument {
  incarnation: number;
  events: Map<string, ScheduledEvent>;
}

export type ApprovalListener = (event: ScheduledEvent) => void;

export class ScheduledEventStore {
  readonly #scopes = new Map<string, ScopeDocument>();
  readonly #scopeOf = new Map<string, string>();
  readonly #listeners: ApprovalListener[] = [];

  /** Called after every recorded approval (the composition root uses it to step maintenance at once). */
  onApproval(listener: ApprovalListener): void {
    this.#listeners.push(listener);
  }

  document(scope: string): EventDocument {
    const doc = this.#scopes.get(scope);
    return doc ? { incarnation: doc.incarnation, events: [...doc.events.values()] } : { incarnation: 1, events: [] };
  }

  get(eventId: string): ScheduledEvent | undefined {
    const scope = this.#scopeOf.get(eventId);
    return scope === undefined ? undefined : this.#scopes.get(scope)?.events.get(eventId);
  }

  publish(spec: NewEvent, nowMs: number): ScheduledEvent {
    const event: ScheduledEvent = { ...spec, eventId: newGuid().toUpperCase(), status: 'Scheduled', publishedMs: nowMs, approvals: [] };
    this.#change(spec.scope, (events) => events.set(event.eventId, event));
    this.#scopeOf.set(event.eventId, spec.scope);
    return event;
  }

  start(eventId: string): void {
    const event = this.#require(eventId);
    if (event.status === 'Started') return;
    this.#change(event.scope, (events) => events.set(eventId, { ...event, status: 'Started' }));
  }

  remove(eventId: string): void {
    const event = this.get(eventId);
    if (!event) return;
    this.#change(event.scope, (events) => events.delete(eventId));
    this.#scopeOf.delete(eventId);
  }

  /**
   * Records StartRequests from `vmName`, which sees `scope`. All ids are checked before any is
   * recorded, so a request naming one unknown id changes nothing.
   */
  approve(scope: string, vmName: string, eventIds: readonly string[], nowMs: number): void {
    const events = eventIds.map((id) => {
      const event = this.get(id) ?? this.get(id.toUpperCase());
      if (!event || event.scope !== scope) throw new ComputeError('UnknownEvent', { eventId: id });
      return event;
    });
    for (const event of events) {
      if (event.status !== 'Scheduled' || event.approvals.some((a) => a.vmName === vmName)) continue;
      // Approvals are bookkeeping, not document content: the incarnation does not move.
      const approved = { ...event, approvals: [...event.approvals, { vmName, atMs: nowMs }] };
      this.#require(event.eventId);
      this.#scopes.get(event.scope)?.events.set(event.eventId, approved);
      for (const listener of this.#listeners) listener(approved);
    }
  }

  #require(eventId: string): ScheduledEvent {
    const event = this.get(eventId);
    if (!event) throw new ComputeError('UnknownEvent', { eventId });
    return event;
  }

  #change(scope: string, edit: (events: Map<string, ScheduledEvent>) => void): void {
    const doc = this.#scopes.get(scope) ?? { incarnation: 1, events: new Map<string, ScheduledEvent>() };
    edit(doc.events);
    doc.incarnation++;
    this.#scopes.set(scope, doc);
  }
}
