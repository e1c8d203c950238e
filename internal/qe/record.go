package qe

// Record is one routed output. The router fills every field; a sink writes
// Topic, Key, Value and Headers, and reads the typed fields (Route,
// LangPair, Score, Verdict) instead of parsing Value or the headers again.
type Record struct {
	// Topic is the already-expanded destination name: a Kafka topic for
	// the Kafka sink, a file name stem for the file sink.
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
	// Seq is the input item's feed position (pipeline.Item.Seq), so a sink
	// can write records in input order; the Kafka sink ignores it.
	Seq int64

	// Route is where the router sent the record.
	Route Route
	// LangPair is the input's language pair as "src-tgt" (e.g. "en-de"),
	// lower-case with "_" as "-". A dead letter has it when its input
	// named two languages, even if not valid ones; empty when the input
	// has no usable language fields.
	LangPair string
	// Scored is true when the model scored the pair; Score is then the
	// decision score exactly as the qe member and the qe-score header
	// write it (6 decimals). Rule rejections and dead letters are not
	// scored.
	Scored bool
	Score  float64
	// Critical is the model's probability that the translation has a
	// critical error, when the model has such an output; nil otherwise.
	Critical *float64
	// Segments is how many segments a long input was split into and
	// scored separately; 0 when it was scored whole.
	Segments int
	// WorstSegment is the index of the segment that decided the verdict
	// (the lowest-scoring one) when Segments > 0.
	WorstSegment int
	// Verdict is the qe member the router added to Value (Source left
	// out: outputs carry it as the qe-source header); for a dead letter,
	// its route, reason and source.
	Verdict Verdict
	// Input is the input value the verdict was added to: Value before the
	// router touched it, so a sink can add a differently shaped verdict
	// (the filter's annotated.jsonl adds the source) without parsing.
	Input []byte
}

// Header returns the value of the first header named key, or nil.
func (r Record) Header(key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
