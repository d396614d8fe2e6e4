/**
 * Waiting on a peer's admission, from the outside of `AdmissionController`: the protocol gates wait for our
 * verdict (`settledAdmission`), a dialer for admission both ways (`mutualAdmission`). Both resolve from the
 * controller's events and public state only, and release their listeners whatever happens.
 */
import type { TypedEventTarget } from "@libp2p/interface";

import { MeshError } from "../errors.ts";
import type { AdmissionEvents, AdmittedPeer, Refusal } from "./admission.ts";

/** What the waits read of an admission controller. */
export interface AdmissionView extends TypedEventTarget<AdmissionEvents> {
  peer(peerId: string): AdmittedPeer | undefined;
  isRefused(peerId: string): boolean;
  isAcceptedBy(peerId: string): boolean;
  remoteRefusal(peerId: string): Refusal | undefined;
}

/**
 * Resolves true once `peerId` is admitted (at once if it is), false when it is refused or `signal` aborts.
 * Protocol gates wait on it: a peer's services open streams before its admission round trip is over.
 */
export async function settledAdmission(
  view: AdmissionView,
  peerId: string,
  signal: AbortSignal,
): Promise<boolean> {
  if (view.peer(peerId) !== undefined) return true;
  if (view.isRefused(peerId) || signal.aborted) return false;
  return new Promise<boolean>((resolve) => {
    const done = (result: boolean): void => {
      view.removeEventListener("admitted", onAdmitted);
      view.removeEventListener("refused", onRefused);
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAdmitted = (event: CustomEvent<AdmittedPeer>): void => {
      if (event.detail.peerId === peerId) done(true);
    };
    const onRefused = (event: CustomEvent<Refusal>): void => {
      if (event.detail.peerId === peerId && event.detail.side === "local") done(false);
    };
    const onAbort = (): void => done(false);
    view.addEventListener("admitted", onAdmitted);
    view.addEventListener("refused", onRefused);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Resolves once admission is mutual (we admitted `peerId` and it admitted us); rejects with the reason as soon
 * as either side refuses.
 */
export async function mutualAdmission(
  view: AdmissionView,
  peerId: string,
  signal: AbortSignal,
): Promise<AdmittedPeer> {
  return new Promise<AdmittedPeer>((resolve, reject) => {
    const cleanup = (): void => {
      view.removeEventListener("admitted", check);
      view.removeEventListener("accepted", check);
      view.removeEventListener("refused", onRefused);
      signal.removeEventListener("abort", onAbort);
    };
    const check = (): void => {
      const admitted = view.peer(peerId);
      if (admitted === undefined || !view.isAcceptedBy(peerId)) return;
      cleanup();
      resolve(admitted);
    };
    const onRefused = (event: CustomEvent<Refusal>): void => {
      if (event.detail.peerId !== peerId) return;
      cleanup();
      reject(
        new MeshError(
          "NOT_ADMITTED",
          `${event.detail.side === "local" ? "we refused the peer" : "the peer refused us"}: ${event.detail.code}: ${event.detail.reason}`,
        ),
      );
    };
    const onAbort = (): void => {
      cleanup();
      reject(new MeshError("STREAM_TIMEOUT", `admission with ${peerId} did not finish in time`));
    };
    view.addEventListener("admitted", check);
    view.addEventListener("accepted", check);
    view.addEventListener("refused", onRefused);
    signal.addEventListener("abort", onAbort, { once: true });
    const refusal = view.remoteRefusal(peerId);
    if (refusal !== undefined) onRefused(new CustomEvent("refused", { detail: refusal }));
    else check();
  });
}
