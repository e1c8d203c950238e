package segment

// Piece is one aligned sentence pair of a longer translation pair: the
// source sentences and the MT sentences that translate them.
type Piece struct{ Src, MT string }

// Segment splits both sides of a translation pair into sentences and
// aligns them. n is how many pieces the pair has: the smaller of the two
// sentence counts. For n <= 1 it returns no pieces (the pair is one piece:
// score it whole). Otherwise it returns the n pieces, or, when limit > 0
// and n > limit, only the first limit of them: the short side's first
// limit sentences and the long side's prefix whose length matches theirs
// best; the text after them is in no piece.
//
// Time and memory are O(len(src) + len(mt) + min(n, limit) * m), m the
// larger sentence count.
func Segment(src, mt, srcLang, tgtLang string, limit int) (pieces []Piece, n int) {
	ss, ms := Split(src, srcLang), Split(mt, tgtLang)
	n = min(len(ss), len(ms))
	if n <= 1 {
		return nil, n
	}
	if limit > 0 && n > limit {
		if len(ss) <= len(ms) {
			ss, ms = ss[:limit], ms[:prefix(src, ss, mt, ms, limit)]
		} else {
			ms, ss = ms[:limit], ss[:prefix(mt, ms, src, ss, limit)]
		}
	}
	pairs := Align(src, ss, mt, ms)
	pieces = make([]Piece, len(pairs))
	for i, p := range pairs {
		pieces[i] = Piece{Src: p[0].Of(src), MT: p[1].Of(mt)}
	}
	return pieces, n
}

// prefix returns how many of the long side's sentences (at least limit)
// cover about the share of its text that the short side's first limit
// sentences cover of theirs.
func prefix(short string, ss []Span, long string, ls []Span, limit int) int {
	f := cumulative(short, ss)[limit-1]
	fl := cumulative(long, ls)
	best := limit
	for j := limit; j < len(ls); j++ {
		if abs(fl[j-1]-f) < abs(fl[best-1]-f) {
			best = j
		}
	}
	return best
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
