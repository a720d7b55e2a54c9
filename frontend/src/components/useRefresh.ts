// Re-runs a query from the network whenever `signal` changes (after live events), skipping
// the first render.
import { useEffect, useRef } from 'react';

export function useRefetchOn(signal: number, refetch: (opts: { requestPolicy: 'network-only' }) => void) {
  const first = useRef(true);
  const latest = useRef(refetch);
  latest.current = refetch;
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    latest.current({ requestPolicy: 'network-only' });
  }, [signal]);
}
