// What the verification flow shows a person (verification.ts): the view each front end renders
// for a flow, and the answers of the consent step.
import type { Flow, RequestContext } from '../model/records.ts';
import type { ConsentWarning } from './request-context.ts';

/** The device's request as the consent screen shows it (RFC 8628 §5.4). */
export interface DeviceRequestView {
  requestedAt: number;
  expiresAt: number;
  /** Where it came from; each field null when unknown. */
  source: RequestContext;
}

/** What a front end shows for a flow, to the person whose request (`viewer`) asked for it. */
export interface FlowView {
  flow: Flow;
  /** When the view was made, by the engine's clock: relative times ("2 minutes ago") count from it. */
  at: number;
  /** The signed-in person; `name` when their profile has one. */
  user?: { id: string; username: string; name?: string };
  application?: { name: string };
  scopes?: string[];
  /** The verified code in display form (consent screen). */
  userCode?: string;
  /** Once the flow has a device: its request. */
  request?: DeviceRequestView;
  /** With `request`: what differs between it and where the viewer is now (empty when nothing does). */
  warnings?: ConsentWarning[];
  /** The flow ended with "I didn't start this": the request was denied and reported. */
  reported?: boolean;
}

/** The answers of the consent step: approve, deny, or deny and report ("I didn't start this"). */
export type ConsentAnswer = 'approve' | 'deny' | 'report';
