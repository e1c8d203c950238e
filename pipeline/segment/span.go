package segment

// Span is a piece of a text: the bytes text[Start:End]. Spans returned by
// this package never begin or end with white space and are never empty.
type Span struct{ Start, End int }

// Of returns the span's text in text.
func (s Span) Of(text string) string { return text[s.Start:s.End] }
