package unigram

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported reports a tokenizer.json this package does not implement.
var ErrUnsupported = errors.New("unigram: unsupported tokenizer")

// unkPenalty is what an unknown character costs below the lowest piece
// score (K_UNK_PENALTY of the Rust library and SentencePiece).
const unkPenalty = 10.0

// Tokenizer encodes text into piece ids. It is immutable after Parse and
// safe for concurrent use.
type Tokenizer struct {
	trie      *trie
	scores    []float64
	unk       int32
	unkScore  float64
	normalize []step
	meta      string       // Metaspace replacement of ' ', prepended to each segment
	added     []addedToken // matched on the raw text, longest first
}

// addedToken is a token matched on the raw text before normalization.
type addedToken struct {
	content string
	id      uint32
}

// tokenizerJSON is the part of tokenizer.json that Parse reads.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID         uint32 `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer   *normalizerJSON `json:"normalizer"`
	PreTokenizer *struct {
		Type          string `json:"type"`
		Replacement   string `json:"replacement"`
		PrependScheme string `json:"prepend_scheme"`
		Split         bool   `json:"split"`
	} `json:"pre_tokenizer"`
	Model struct {
		Type         string  `json:"type"`
		UnkID        *int    `json:"unk_id"`
		ByteFallback bool    `json:"byte_fallback"`
		Vocab        []piece `json:"vocab"`
	} `json:"model"`
}

// piece is one ["piece", score] entry of a Unigram vocabulary.
type piece struct {
	text  string
	score float64
}

// UnmarshalJSON reads the two-element array.
func (p *piece) UnmarshalJSON(b []byte) error {
	var v [2]json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if err := json.Unmarshal(v[0], &p.text); err != nil {
		return err
	}
	return json.Unmarshal(v[1], &p.score)
}

// Parse reads a tokenizer.json. It returns an error wrapping ErrUnsupported
// when the file uses a feature this package does not implement.
func Parse(b []byte) (*Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, fmt.Errorf("unigram: %w", err)
	}
	m := &tj.Model
	switch {
	case m.Type != "Unigram":
		return nil, fmt.Errorf("%w: model %q", ErrUnsupported, m.Type)
	case m.ByteFallback:
		return nil, fmt.Errorf("%w: byte_fallback", ErrUnsupported)
	case m.UnkID == nil || *m.UnkID < 0 || *m.UnkID >= len(m.Vocab):
		return nil, fmt.Errorf("%w: no unk_id in the vocabulary", ErrUnsupported)
	}
	pt := tj.PreTokenizer
	if pt == nil || pt.Type != "Metaspace" || pt.Split || pt.PrependScheme != "always" || utf8.RuneCountInString(pt.Replacement) != 1 {
		return nil, fmt.Errorf("%w: pre-tokenizer other than Metaspace(prepend always, no split)", ErrUnsupported)
	}
	steps, err := newNormalizer(tj.Normalizer)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{normalize: steps, meta: pt.Replacement, unk: int32(*m.UnkID)}
	for _, a := range tj.AddedTokens {
		if a.SingleWord || a.LStrip || a.RStrip || a.Normalized || a.Content == "" {
			return nil, fmt.Errorf("%w: added token %q options", ErrUnsupported, a.Content)
		}
		t.added = append(t.added, addedToken{a.Content, a.ID})
	}
	pieces := make([]string, len(m.Vocab))
	t.scores = make([]float64, len(m.Vocab))
	minScore := math.Inf(1)
	for i, p := range m.Vocab {
		pieces[i], t.scores[i] = p.text, p.score
		minScore = min(minScore, p.score)
	}
	t.unkScore = minScore - unkPenalty
	t.trie = newTrie(pieces)
	return t, nil
}

// Encode returns the ids of text without special tokens added around it.
func (t *Tokenizer) Encode(text string) []uint32 {
	text = validUTF8(text)
	var ids []uint32
	for text != "" {
		at, tok := t.nextAdded(text)
		ids = t.encodeSegment(ids, text[:at])
		if tok == nil {
			break
		}
		ids = append(ids, tok.id)
		text = text[at+len(tok.content):]
	}
	return ids
}

// nextAdded finds the leftmost added token in s, the longest at that
// position (Aho-Corasick leftmost-longest, as the Rust library matches);
// it returns len(s) and nil when there is none.
func (t *Tokenizer) nextAdded(s string) (int, *addedToken) {
	best, at := -1, len(s)
	for i := range t.added {
		j := strings.Index(s[:min(len(s), at+len(t.added[i].content))], t.added[i].content)
		if j < 0 {
			continue
		}
		if j < at || (j == at && len(t.added[i].content) > len(t.added[best].content)) {
			best, at = i, j
		}
	}
	if best < 0 {
		return len(s), nil
	}
	return at, &t.added[best]
}

// encodeSegment normalizes and pre-tokenizes one piece of text between
// added tokens and appends its ids.
func (t *Tokenizer) encodeSegment(ids []uint32, s string) []uint32 {
	for _, f := range t.normalize {
		s = f(s)
	}
	if s == "" {
		return ids
	}
	s = strings.ReplaceAll(s, " ", t.meta)
	if !strings.HasPrefix(s, t.meta) {
		s = t.meta + s
	}
	return t.viterbi(ids, s)
}

// node is the best segmentation of a prefix of the sentence.
type node struct {
	score float64
	start int32 // where its last piece starts; -1 while unreached
	id    int32
}

// viterbi appends the ids of the highest-scoring segmentation of s into
// pieces (Unigram::encode_optimized: ties keep the shorter piece seen
// first; a character no piece starts with is an unknown piece, and runs of
// those fuse into one).
func (t *Tokenizer) viterbi(ids []uint32, s string) []uint32 {
	best := make([]node, len(s)+1)
	for i := 1; i < len(best); i++ {
		best[i].start = -1
	}
	for start := 0; start < len(s); {
		base := best[start].score
		_, mblen := utf8.DecodeRuneInString(s[start:])
		single := false
		for n, end := 0, start; end < len(s); end++ {
			if n = t.trie.child(n, s[end]); n < 0 {
				break
			}
			id := t.trie.id[n]
			if id < 0 {
				continue
			}
			tgt := &best[end+1]
			if sc := t.scores[id] + base; tgt.start < 0 || sc > tgt.score {
				*tgt = node{sc, int32(start), id}
			}
			if end+1-start == mblen {
				single = true
			}
		}
		if !single {
			tgt := &best[start+mblen]
			if sc := t.unkScore + base; tgt.start < 0 || sc > tgt.score {
				*tgt = node{sc, int32(start), t.unk}
			}
		}
		start += mblen
	}
	// Walk back; a run of unknown pieces becomes one piece, which is looked
	// up as a whole (unknown unless the run happens to be a piece).
	mark := len(ids)
	for end := len(s); end > 0; {
		nd := best[end]
		start := int(nd.start)
		if nd.id == t.unk {
			for start > 0 && best[start].id == t.unk {
				start = int(best[start].start)
			}
			id := t.trie.lookup(s[start:end])
			if id < 0 {
				id = t.unk
			}
			ids = append(ids, uint32(id))
		} else {
			ids = append(ids, uint32(nd.id))
		}
		end = start
	}
	for i, j := mark, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}
