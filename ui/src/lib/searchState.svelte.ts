// The search form and its results, kept while the user opens a call and comes back. Held in
// memory only (never in web storage: criteria and results are personal data); the criteria are
// also remembered per user and device by the core, in the encrypted local index.
import type { Recording, Search } from './api';

export function emptySearch(): Search {
  return {
    from: null,
    to: null,
    number: null,
    staff: null,
    party: null,
    direction: null,
    min_duration_s: null,
    max_duration_s: null,
    text: null,
    nhs_number: null,
    limit: 1000,
  };
}

export const searchState = $state({
  query: emptySearch(),
  results: null as Recording[] | null,
  ms: 0,
  /** The remembered criteria were fetched for this session. */
  restored: false,
});

export function clearSearchState() {
  searchState.query = emptySearch();
  searchState.results = null;
  searchState.restored = false;
}
