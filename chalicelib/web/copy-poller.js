// Waiting for 证书生成中… to end, without a reload: the pending copies of one certificate's view
// are asked about until each is ready (or failed), and the view is told.

import { api, ApiError } from "./api.js";
import { current, later } from "./view.js";

// How soon to ask again about a pending copy: the worker makes one in ~100 ms, so early and
// often at first (50 ms, then every 100 ms for 2 s), then backing off to every 5 s.
export function pollDelay(elapsedMs, previous) {
  if (previous === null) return 50;
  if (elapsedMs < 2000) return 100;
  return Math.min(Math.max(500, Math.round(previous * 1.5)), 5000);
}

export class CopyPoller {
  // `done(annotation)`: a copy is no longer pending (as the poll saw it). Polls end with the view `seq`.
  constructor(seq, done) {
    this.seq = seq;
    this.done = done;
    this.polling = new Set();
  }

  // A copy the listing shows as no longer pending needs no more asking.
  forget(annotationId) {
    this.polling.delete(annotationId);
  }

  watch(annotationId) {
    if (this.polling.has(annotationId)) return;
    this.polling.add(annotationId);
    const started = performance.now();
    let delay = null;
    const live = () => current(this.seq) && this.polling.has(annotationId);
    const schedule = () => {
      delay = pollDelay(performance.now() - started, delay);
      later(tick, delay);
    };
    const tick = async () => {
      if (!live()) return;
      let a;
      try {
        a = await api("GET", `/annotations/${annotationId}`);
      } catch (error) {
        if (error instanceof ApiError && error.handled) return;
        delay = Math.min((delay || 100) * 4, 10000);
        later(tick, delay);
        return;
      }
      if (!live()) return;
      if (a.status === "pending") {
        schedule();
        return;
      }
      this.polling.delete(annotationId);
      await this.done(a);
    };
    schedule();
  }
}
