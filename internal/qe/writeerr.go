package qe

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// WriteErrors reports per-record outcomes of a failed Write: entry i is the
// error of record i, nil when that record was written. A sink returns it
// (wrapped or not) so the caller retries only what failed.
type WriteErrors []error

func (e WriteErrors) Error() string {
	n, first := 0, error(nil)
	for _, err := range e {
		if err != nil {
			n++
			if first == nil {
				first = err
			}
		}
	}
	return fmt.Sprintf("%d of %d records failed (first: %v)", n, len(e), first)
}

// PermanentError marks a record that retrying cannot deliver (the topic does
// not exist, the record is too large): the caller dead-letters it instead.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is, or wraps, a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// MissingTopicError marks a record whose topic the broker does not know
// (UNKNOWN_TOPIC_OR_PARTITION). It is neither transient nor permanent: a
// topic just created is unknown while metadata propagates, and one deleted
// mid-run never comes back, so the caller retries for a bounded time and
// then decides (pipeline.Engine: missing_topic_timeout).
type MissingTopicError struct {
	Topic string
	Err   error
}

func (e *MissingTopicError) Error() string {
	return fmt.Sprintf("topic %q does not exist: %v", e.Topic, e.Err)
}

// Unwrap returns the cause.
func (e *MissingTopicError) Unwrap() error { return e.Err }

// IsMissingTopic reports whether err is, or wraps, a MissingTopicError.
func IsMissingTopic(err error) bool {
	var m *MissingTopicError
	return errors.As(err, &m)
}

// Reason renders err for a qe-error header: short and single-line.
func Reason(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 300 {
		n := 300
		for n > 0 && !utf8.RuneStart(s[n]) {
			n-- // a header value must stay valid UTF-8
		}
		s = s[:n]
	}
	return s
}
