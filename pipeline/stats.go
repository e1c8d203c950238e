package pipeline

import (
	"sync"

	"github.com/qegate/qegate/internal/qe"
)

// Stats counts routed messages overall and per language pair.
type Stats struct {
	mu        sync.Mutex
	total     [qe.NumRoutes]int64
	byLP      map[string]*[qe.NumRoutes]int64
	abandoned int64
}

// NewStats returns zeroed counters.
func NewStats() *Stats { return &Stats{byLP: map[string]*[qe.NumRoutes]int64{}} }

func (s *Stats) add(lp string, r qe.Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total[r]++
	if lp == "" {
		lp = "invalid"
	}
	c := s.byLP[lp]
	if c == nil {
		c = new([qe.NumRoutes]int64)
		s.byLP[lp] = c
	}
	c[r]++
}

func (s *Stats) abandon() {
	s.mu.Lock()
	s.abandoned++
	s.mu.Unlock()
}

// Snapshot is a copy of the counters.
type Snapshot struct {
	Total     RouteCounts
	ByLP      map[string]RouteCounts
	Abandoned int64
}

// RouteCounts counts messages per route.
type RouteCounts struct {
	Accepted   int64 `json:"accepted"`
	Rejected   int64 `json:"rejected"`
	Critical   int64 `json:"critical"`
	Review     int64 `json:"review"`
	DeadLetter int64 `json:"dead_letter"`
}

// Sum is the number of messages routed anywhere.
func (c RouteCounts) Sum() int64 {
	return c.Accepted + c.Rejected + c.Critical + c.Review + c.DeadLetter
}

func toCounts(a [qe.NumRoutes]int64) RouteCounts {
	return RouteCounts{Accepted: a[qe.RouteAccepted], Rejected: a[qe.RouteRejected], Critical: a[qe.RouteCritical],
		Review: a[qe.RouteReview], DeadLetter: a[qe.RouteDeadLetter]}
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Total: toCounts(s.total), ByLP: map[string]RouteCounts{}, Abandoned: s.abandoned}
	for lp, c := range s.byLP {
		out.ByLP[lp] = toCounts(*c)
	}
	return out
}
