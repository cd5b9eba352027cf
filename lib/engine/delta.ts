/**
 * Delta bodies as a pure reducer: the flag state after a list of events. The engine
 * compiles the result; nothing here touches a snapshot in use.
 */
import type { DeltaEvent, FeatureDefinition, SegmentDefinition } from '../types';

/** The definitions behind a snapshot, by flag name and by segment id. */
export interface FlagState {
  /** Flags by name, in payload order. */
  readonly features: ReadonlyMap<string, FeatureDefinition>;
  /** Segments by id. */
  readonly segments: ReadonlyMap<number, SegmentDefinition>;
}

/**
 * The state after applying `events` in order to `state`. Pure: `state` is not changed,
 * and the result shares the definitions both have in common. A `hydration` replaces
 * everything before it; an update adds or replaces by name (or id); a removal of
 * something absent is a no-op.
 */
export function applyDelta(state: FlagState, events: readonly DeltaEvent[]): FlagState {
  const features = new Map(state.features);
  const segments = new Map(state.segments);
  for (const event of events) {
    switch (event.type) {
      case 'hydration':
        features.clear();
        segments.clear();
        for (const f of event.features) features.set(f.name, f);
        for (const s of event.segments) segments.set(s.id, s);
        break;
      case 'feature-updated':
        features.set(event.feature.name, event.feature);
        break;
      case 'feature-removed':
        features.delete(event.featureName);
        break;
      case 'segment-updated':
        segments.set(event.segment.id, event.segment);
        break;
      case 'segment-removed':
        segments.delete(event.segmentId);
        break;
    }
  }
  return { features, segments };
}
