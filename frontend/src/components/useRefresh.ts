// Small hooks for live pages: the latest value of a callback without re-subscribing, a query
// re-run when a signal changes, and a trigger that coalesces bursts of events.
import { useCallback, useEffect, useLayoutEffect, useRef } from 'react';

/** A ref that always holds the latest `value` (updated after each render). */
export function useLatest<T>(value: T) {
  const ref = useRef(value);
  useLayoutEffect(() => {
    ref.current = value;
  });
  return ref;
}

/** Re-runs a query from the network whenever `signal` changes, skipping the first render. */
export function useRefetchOn(signal: number, refetch: (opts: { requestPolicy: 'network-only' }) => void) {
  const first = useRef(true);
  const latest = useLatest(refetch);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    latest.current({ requestPolicy: 'network-only' });
  }, [signal, latest]);
}

/**
 * A trigger that runs `run` once, `delayMs` after the first call of a burst: many live events
 * in a moment cost one re-read.
 */
export function useCoalesced(run: () => void, delayMs: number): () => void {
  const latest = useLatest(run);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, delayMs);
  }, [delayMs, latest]);
}
