package sqlite

// SharedCommits is how many shared transactions s committed.
func SharedCommits(s *Store) int64 { return s.shared.commits.Load() }

// SharedWaiting is how many UpdateShared calls wait for a transaction.
func SharedWaiting(s *Store) int {
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	return len(s.shared.waiting)
}
