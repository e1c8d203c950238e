package sink

import "github.com/qegate/qegate/internal/qe"

// HistogramBins is the number of equal-width score bins over [0, 1].
const HistogramBins = 10

// Summary counts the written lines per route and language pair, with a
// histogram of scores; it is part of the checkpoint, so after a resume it
// covers the whole run.
type Summary struct {
	Lines      int64                 `json:"lines"`
	Routes     map[string]int64      `json:"routes"`
	Histogram  [HistogramBins]int64  `json:"histogram"`
	ByLangPair map[string]*LPSummary `json:"by_lang_pair"`
}

// LPSummary is one language pair's part of a Summary. Dead letters whose
// input has no usable languages count under "invalid".
type LPSummary struct {
	Routes    map[string]int64     `json:"routes"`
	Histogram [HistogramBins]int64 `json:"histogram"`
}

func newSummary() Summary {
	return Summary{Routes: map[string]int64{}, ByLangPair: map[string]*LPSummary{}}
}

// add counts r: under its topic (the route file's stem; "dead_letter" for
// dead letters) and its language pair ("invalid" when it has none), with
// its score in the histograms when it was scored.
func (s *Summary) add(r qe.Record) {
	route, lp, dead := r.Topic, r.LangPair, r.Route == qe.RouteDeadLetter
	if dead {
		route = qe.RouteDeadLetter.String()
	}
	if lp == "" {
		lp = "invalid"
	}
	s.Lines++
	s.Routes[route]++
	l := s.ByLangPair[lp]
	if l == nil {
		l = &LPSummary{Routes: map[string]int64{}}
		s.ByLangPair[lp] = l
	}
	l.Routes[route]++
	if r.Scored && !dead {
		bin := int(r.Score * HistogramBins)
		bin = max(0, min(bin, HistogramBins-1))
		s.Histogram[bin]++
		l.Histogram[bin]++
	}
}
